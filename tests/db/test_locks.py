"""The (flow, key) advisory lock: one holder at a time, queued waiters, released on exit."""

from __future__ import annotations

import threading
import time

import pytest

from talentflow.db.locks import PartitionBusy, partition_lock


def test_second_holder_of_the_same_flow_and_key_is_refused_without_waiting(db: str) -> None:
    with partition_lock("candidate-pipeline", "c-1") as held:
        assert held.waited_s == 0
        with pytest.raises(PartitionBusy, match="'candidate-pipeline' run for key 'c-1'"), \
                partition_lock("candidate-pipeline", "c-1", wait_s=0):
            pass
        # Other keys, and the same key under another flow, are independent.
        with partition_lock("candidate-pipeline", "c-2", wait_s=0), \
                partition_lock("job-pipeline", "c-1", wait_s=0):
            pass
    with partition_lock("candidate-pipeline", "c-1", wait_s=0):  # released on exit
        pass


def test_a_waiter_is_queued_until_the_holder_finishes(db: str) -> None:
    order: list[str] = []
    holding = threading.Event()

    def first() -> None:
        with partition_lock("job-pipeline", "j-1"):
            order.append("first in")
            holding.set()
            time.sleep(0.5)
            order.append("first out")

    t = threading.Thread(target=first)
    t.start()
    holding.wait(5)
    with partition_lock("job-pipeline", "j-1", wait_s=10) as held:
        order.append("second in")
    t.join()
    assert order == ["first in", "first out", "second in"]
    assert held.waited_s >= 0.3


def test_the_wait_is_bounded(db: str) -> None:
    with partition_lock("candidate-pipeline", "c-9"):
        t0 = time.monotonic()
        with pytest.raises(PartitionBusy), partition_lock("candidate-pipeline", "c-9", wait_s=0.3):
            pass
        assert 0.2 < time.monotonic() - t0 < 5


def test_the_lock_is_released_when_the_body_raises(db: str) -> None:
    with pytest.raises(RuntimeError), partition_lock("candidate-pipeline", "c-3"):
        raise RuntimeError("boom")
    with partition_lock("candidate-pipeline", "c-3", wait_s=0):
        pass
