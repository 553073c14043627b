"""Is a process alive? One answer for the claims, the embedded database and serve."""

from __future__ import annotations

import os
from pathlib import Path


def proc_stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 on (Linux); None where unknown."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after its closing ')'.
    return raw[raw.rfind(")") + 2:].split()


def pid_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie (dead, not yet reaped by its parent,
    yet still answering kill(pid, 0)); a process owned by someone else counts as alive."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = proc_stat_fields(pid)
    return not (fields and fields[0] == "Z")
