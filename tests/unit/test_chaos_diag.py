"""The chaos worker's SIGUSR1 task dump names every coroutine a task is waiting in."""

from __future__ import annotations

import asyncio

import pytest

from venuegate.oms.chaos import _dump_tasks


async def _inner_wait(ev: asyncio.Event) -> None:
    await ev.wait()


async def _outer(ev: asyncio.Event) -> None:
    await _inner_wait(ev)


def test_dump_walks_the_await_chain(capsys: pytest.CaptureFixture[str]) -> None:
    async def main() -> None:
        ev = asyncio.Event()
        task = asyncio.create_task(_outer(ev), name="the-waiter")
        await asyncio.sleep(0)
        _dump_tasks()
        ev.set()
        await task

    asyncio.run(main())
    err = capsys.readouterr().err
    block = err.split("--- the-waiter", 1)[1].split("---", 1)[0]
    assert "_outer" in block
    assert "_inner_wait" in block
    assert block.index("_outer") < block.index("_inner_wait")  # outermost first
