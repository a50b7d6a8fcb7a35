"""`ttsign.tasks.cancel_and_wait` stops a background loop even when one cancellation is swallowed on the way
(redis-py 8.1's asyncio client drops a cancel that lands while a reply is read and returns the reply)."""

from __future__ import annotations

import asyncio

import pytest

from ttsign.tasks import cancel_and_wait


async def test_a_loop_that_swallows_one_cancel_still_stops() -> None:
    swallowed = 0

    async def loop() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(0.01)  # stands for a Redis call that ate the CancelledError
            except asyncio.CancelledError:
                if swallowed < 2:
                    swallowed += 1
                    continue
                raise

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.02)
    await asyncio.wait_for(cancel_and_wait(task, every_s=0.05), 2.0)
    assert task.cancelled()
    assert swallowed == 2


async def test_a_task_that_never_stops_is_left_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    stop = asyncio.Event()

    async def stubborn() -> None:
        while not stop.is_set():
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.wait_for(cancel_and_wait(task, every_s=0.02, within_s=0.2), 2.0)
    assert not task.done()
    assert "stubborn did not stop" in caplog.text
    stop.set()
    await asyncio.wait_for(task, 1.0)


async def test_a_failure_in_the_task_reaches_the_caller_and_none_is_a_no_op() -> None:
    async def broken() -> None:
        raise ValueError("boom")

    task = asyncio.create_task(broken())
    await asyncio.sleep(0)
    with pytest.raises(ValueError, match="boom"):
        await cancel_and_wait(task)
    await cancel_and_wait(None)
