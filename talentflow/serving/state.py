"""What `talentflow serve` started, written down under the state folder, so a restart after a
crash (a SIGKILL, an OOM kill) can find and adopt or stop what the dead process left.

    <state>/serve/serve.lock            flock held by the live serve: one serve per state folder
    <state>/serve/serve.json            the serve process: pid, start time, API URL, options
    <state>/serve/prefect-server.json   the Prefect server it started: pid, port, API URL, log
    <state>/serve/runs.json             the flow runs its warm runner is executing right now
    <state>/serve/health.json           its health, rewritten every few seconds (docs/operations.md)

Every file is written whole (temp file + rename) with mode 0600. A pid is only trusted
together with its process start time (`ProcessRef`): after a reboot or pid reuse, a recorded pid
naming some other process is treated as dead, never signalled.

Nothing here imports prefect.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import threading
import time
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from talentflow.processes import pid_alive, proc_stat_fields

SERVE_DIR = "serve"


class AlreadyServing(RuntimeError):
    """Another live `talentflow serve` holds this state folder."""


@dataclass(frozen=True)
class ProcessRef:
    """A process by pid AND start time (clock ticks since boot, from /proc), so a reused pid
    is not mistaken for the process we recorded."""

    pid: int
    started: int | None = None

    @classmethod
    def of(cls, pid: int) -> ProcessRef:
        return cls(pid, process_start_ticks(pid))

    def alive(self) -> bool:
        if not pid_alive(self.pid):
            return False
        if self.started is None:
            return True
        now = process_start_ticks(self.pid)
        return now is None or now == self.started

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def process_start_ticks(pid: int) -> int | None:
    """Start time of a process in clock ticks since boot (Linux), None where unknown."""
    fields = proc_stat_fields(pid)
    try:
        return int(fields[19]) if fields else None  # field 22 of stat, counted from field 3
    except (IndexError, ValueError):
        return None


def process_cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [p.decode(errors="replace") for p in raw.split(b"\0") if p]


def process_group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def terminate(ref: ProcessRef, *, group: bool, timeout: float = 20.0) -> bool:
    """SIGTERM the process (its whole group when `group`: `prefect server start` runs in its
    own), SIGKILL after `timeout`. Returns True once it is gone. A process that is not the
    recorded one (reused pid) is never signalled."""
    if not ref.alive():
        return True

    def send(sig: int) -> None:
        try:
            if group and process_group(ref.pid) == ref.pid:
                os.killpg(ref.pid, sig)
            else:
                os.kill(ref.pid, sig)
        except ProcessLookupError:
            pass

    send(signal.SIGTERM)
    if _wait_gone(ref, timeout):
        return True
    send(signal.SIGKILL)
    return _wait_gone(ref, 5.0)


def _wait_gone(ref: ProcessRef, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(ChildProcessError):  # our own child: reap it, or it stays a zombie
            os.waitpid(ref.pid, os.WNOHANG)
        if not ref.alive():
            return True
        time.sleep(0.1)
    return not ref.alive()


class ServeFiles:
    """The files of one state folder's serve (see the module docstring)."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir / SERVE_DIR
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.lock_path = self.dir / "serve.lock"
        self.serve = self.dir / "serve.json"
        self.prefect_server = self.dir / "prefect-server.json"
        self.runs = self.dir / "runs.json"
        self.health = self.dir / "health.json"
        self._lock_fd: int | None = None

    # -- the lock: one live serve per state folder -------------------------------------------
    def acquire(self) -> None:
        """Hold the serve lock for this process's lifetime (the kernel drops it when the
        process dies, SIGKILL included). AlreadyServing if a live serve holds it."""
        import fcntl

        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            pid = (read_json(self.serve) or {}).get("pid", "?")
            raise AlreadyServing(f"talentflow serve already runs for {self.dir.parent} "
                                 f"(pid {pid}); stop it first: kill -TERM {pid}") from None
        self._lock_fd = fd

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- records -----------------------------------------------------------------------------
    def write(self, path: Path, data: dict[str, Any]) -> None:
        write_json(path, data)

    def read(self, path: Path) -> dict[str, Any] | None:
        return read_json(path)

    def remove(self, *paths: Path) -> None:
        for p in paths:
            with suppress(FileNotFoundError):
                p.unlink()


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write the file whole: a reader sees the old content or the new, never half of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1, default=str, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def ref_from(record: dict[str, Any] | None) -> ProcessRef | None:
    if not record or not isinstance(record.get("pid"), int):
        return None
    started = record.get("pid_started")
    return ProcessRef(record["pid"], started if isinstance(started, int) else None)
