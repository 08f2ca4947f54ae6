"""`PriorityLock`: a nonce venue's one-at-a-time signed requests, cancels first."""

from __future__ import annotations

import asyncio

from venuegate.net.priority import Priority, PriorityLock


def test_waiters_are_served_by_priority_then_arrival() -> None:
    async def main() -> list[str]:
        lock = PriorityLock()
        order: list[str] = []
        release = asyncio.Event()

        async def first() -> None:
            async with lock.hold(Priority.QUERY):
                await release.wait()

        async def user(name: str, p: Priority) -> None:
            async with lock.hold(p):
                order.append(name)
                await asyncio.sleep(0)

        holder = asyncio.create_task(first())
        await asyncio.sleep(0)
        assert lock.locked
        tasks = [
            asyncio.create_task(user(n, p))
            for n, p in [
                ("query1", Priority.QUERY),
                ("new", Priority.NEW),
                ("query2", Priority.QUERY),
                ("cancel", Priority.CANCEL),
                ("amend", Priority.AMEND),
            ]
        ]
        await asyncio.sleep(0.01)
        assert order == []  # all queued behind the holder
        release.set()
        await asyncio.gather(holder, *tasks)
        assert not lock.locked
        return order

    assert asyncio.run(main()) == ["cancel", "amend", "new", "query1", "query2"]


def test_a_cancelled_waiter_leaves_the_queue_and_a_handover_is_passed_on() -> None:
    async def main() -> list[str]:
        lock = PriorityLock()
        order: list[str] = []

        async def user(name: str, p: Priority) -> None:
            async with lock.hold(p):
                order.append(name)

        held = lock.hold(Priority.QUERY)
        await held.__aenter__()
        gone = asyncio.create_task(user("gone", Priority.CANCEL))
        handed = asyncio.create_task(user("handed", Priority.CANCEL))
        last = asyncio.create_task(user("last", Priority.QUERY))
        await asyncio.sleep(0)
        gone.cancel()  # cancelled while waiting: leaves the queue
        await asyncio.sleep(0)
        await held.__aexit__(None, None, None)  # hands the lock to "handed" (no yield) ...
        handed.cancel()  # ... cancelled before it runs: it passes the lock on
        await asyncio.gather(gone, handed, return_exceptions=True)
        await asyncio.wait_for(last, 2)  # a lock never passed on would hang here
        assert not lock.locked
        return order

    assert asyncio.run(main()) == ["last"]
