"""CPU work off the event loop: bounded threads, and a process that is stopped at its deadline."""

from __future__ import annotations

import asyncio
import time

import pytest

from beacon.offload import TooSlow, in_process, in_thread


async def test_work_in_a_process_is_stopped_at_its_deadline_and_the_loop_keeps_answering():
    ticks = 0

    async def heartbeat():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    beat = asyncio.create_task(heartbeat())
    started = time.monotonic()
    with pytest.raises(TooSlow):
        await in_process(time.sleep, 30, timeout_s=1.0)
    elapsed = time.monotonic() - started
    beat.cancel()
    assert elapsed < 10  # killed, not waited for
    assert ticks >= 10  # the event loop ran all along
    assert await in_process(sum, [1, 2, 3], timeout_s=30) == 6
    with pytest.raises(ZeroDivisionError):  # the work's own error comes back as itself
        await in_process(divmod, 1, 0, timeout_s=30)


async def test_threads_are_bounded():
    running, most = 0, 0

    def work():
        nonlocal running, most
        running += 1
        most = max(most, running)
        time.sleep(0.05)
        running -= 1

    await asyncio.gather(*(in_thread(work) for _ in range(8)))
    assert most <= 2


async def test_warm_starts_the_pool_children_before_the_first_work_arrives():
    from beacon import offload

    offload.shutdown()
    try:
        await offload.warm()
        children = list(offload._pool._processes.values())  # started now, not on first use
        assert len(children) == offload.SLOTS and all(child.is_alive() for child in children)
        assert await offload.in_pool(sum, [4, 5]) == 9
        assert set(offload._pool._processes.values()) == set(children)  # the same ones did the work
    finally:
        offload.shutdown()
