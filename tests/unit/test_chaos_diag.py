"""The chaos worker's SIGUSR1 task dump names every coroutine a task is waiting in."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import pytest

from venuegate.oms.chaos import _dump_tasks


async def _inner_wait(ev: asyncio.Event) -> None:
    await ev.wait()


async def _outer(ev: asyncio.Event) -> None:
    await _inner_wait(ev)


@contextlib.asynccontextmanager
async def _opening(ev: asyncio.Event) -> AsyncIterator[None]:
    await _inner_wait(ev)  # a stall while entering, as in `OrderManager.open`
    yield


async def _enter(ev: asyncio.Event) -> None:
    async with _opening(ev):
        pass


def _dump_block(
    waiter: Callable[[asyncio.Event], Coroutine[Any, Any, None]],
    capsys: pytest.CaptureFixture[str],
) -> str:
    """The dump's block for a task running `waiter` while it waits."""

    async def main() -> None:
        ev = asyncio.Event()
        task = asyncio.create_task(waiter(ev), name="the-waiter")
        await asyncio.sleep(0)
        _dump_tasks()
        ev.set()
        await task

    asyncio.run(main())
    err = capsys.readouterr().err
    return err.split("--- the-waiter", 1)[1].split("---", 1)[0]


def test_dump_walks_the_await_chain(capsys: pytest.CaptureFixture[str]) -> None:
    block = _dump_block(_outer, capsys)
    assert "_outer" in block
    assert "_inner_wait" in block
    assert block.index("_outer") < block.index("_inner_wait")  # outermost first


def test_dump_walks_into_an_async_context_manager(capsys: pytest.CaptureFixture[str]) -> None:
    block = _dump_block(_enter, capsys)
    assert block.index("_enter") < block.index("_opening") < block.index("_inner_wait")
