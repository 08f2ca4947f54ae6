"""Helpers for the simulator tests: fixture loading and a bounded asyncio runner."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

FEEDS = Path(__file__).parent.parent / "fixtures" / "feeds"


def fixture_json(name: str, **kw: Any) -> Any:
    """A fixture under tests/fixtures/feeds, parsed (numbers as text with `raw_numbers`)."""
    text = (FEEDS / name).read_text(encoding="utf-8")
    if kw.pop("raw_numbers", False):
        return json.loads(text, parse_float=str, parse_int=str)
    return json.loads(text)


def run[T](coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    """Run `coro` in a fresh event loop, failing after `timeout` seconds."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


@pytest.fixture
def feeds_dir() -> Path:
    return FEEDS
