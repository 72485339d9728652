"""Several processes on one store: outbox claims (PostgreSQL), account leases, digests sent once."""
from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone

from bot.delivery.worker import OutboxWorker
from bot.storage import Store, leases
from bot.storage.digests import claim_digest
from bot.storage.outbox import claim_due_rows, mark_sent, outbox_rows
from tests.factories import add_subscriber, make_post, queue_alert

NOW = datetime(2024, 6, 1, 12, tzinfo=timezone.utc)


async def two_stores(url: str) -> tuple[Store, Store]:
    return await Store.open(url), await Store.open(url)


async def queued(store: Store, n: int, subscribers: int = 1) -> None:
    subs = [await add_subscriber(store, chat_id=100 + i) for i in range(subscribers)]
    for i in range(n):
        for sub in subs:
            await queue_alert(store, sub, make_post(message_id=i + 1, date=NOW - timedelta(minutes=1)))


async def test_two_processes_claim_disjoint_outbox_rows(pg_url):
    a, b = await two_stores(pg_url)
    try:
        await queued(a, 20)
        got_a, got_b = await asyncio.gather(claim_due_rows(a, NOW, 15), claim_due_rows(b, NOW, 15))
        ids_a, ids_b = {r["id"] for r in got_a}, {r["id"] for r in got_b}
        assert not ids_a & ids_b and len(ids_a | ids_b) == 20
        assert {r["claimed_by"] for r in got_a} == {a.process_id}
    finally:
        await a.close()
        await b.close()


async def test_a_dead_claimers_rows_are_taken_again_once_the_claim_lapses(pg_url):
    a, b = await two_stores(pg_url)
    try:
        await queued(a, 3)
        assert len(await claim_due_rows(a, NOW, 10, claim_seconds=60)) == 3
        assert await claim_due_rows(b, NOW + timedelta(seconds=59), 10) == []
        again = await claim_due_rows(b, NOW + timedelta(seconds=61), 10)
        assert {r["claimed_by"] for r in again} == {b.process_id} and len(again) == 3
    finally:
        await a.close()
        await b.close()


async def test_a_sent_row_keeps_no_claim(pg_url):
    a = await Store.open(pg_url)
    try:
        await queued(a, 1)
        row, = await claim_due_rows(a, NOW, 10)
        await a.write(lambda c: mark_sent(c, row["id"], 5, NOW))
        row, = await outbox_rows(a)
        assert (row["status"], row["claimed_by"], row["claimed_until"]) == ("sent", None, None)
    finally:
        await a.close()


class RecordingSink:
    def __init__(self, seen: list):
        self.seen = seen

    async def deliver(self, alert) -> int:
        self.seen.append(alert.outbox_id)
        await asyncio.sleep(0)
        return alert.outbox_id


async def test_workers_of_three_processes_deliver_every_row_exactly_once(pg_url):
    stores = [await Store.open(pg_url) for _ in range(3)]
    try:
        await queued(stores[0], 30, subscribers=2)
        seen: list[int] = []
        workers = [OutboxWorker(s, lambda sub: RecordingSink(seen), clock=lambda: NOW, batch=7) for s in stores]
        await asyncio.gather(*(w.run_until_idle() for w in workers))
        assert sorted(seen) == sorted(r["id"] for r in await outbox_rows(stores[0])) and len(seen) == 60
        assert all(r["status"] == "sent" and r["claimed_by"] is None for r in await outbox_rows(stores[0]))
    finally:
        for s in stores:
            await s.close()


async def test_a_digest_is_claimed_by_exactly_one_process(pg_url):
    stores = [await Store.open(pg_url) for _ in range(4)]
    try:
        sub = await add_subscriber(stores[0])
        won = await asyncio.gather(*(claim_digest(s, sub.id, date(2024, 6, 1), NOW) for s in stores))
        assert sorted(won) == [False, False, False, True]
    finally:
        for s in stores:
            await s.close()


async def test_a_lapsed_account_lease_is_taken_over_by_a_process_with_that_account(store):
    first, second = "host:1:aa", "host:2:bb"
    held = await leases.heartbeat(store, first, ["main", "extra"], NOW, lease_seconds=30)
    assert held.accounts == {"main", "extra"} and held.taken_over == set()
    held = await leases.heartbeat(store, second, ["main"], NOW + timedelta(seconds=10), lease_seconds=30)
    assert held.accounts == set()
    # the first process dies (no more heartbeats); within the lease the account stays with it
    held = await leases.heartbeat(store, second, ["main"], NOW + timedelta(seconds=29), lease_seconds=30)
    assert held.accounts == set()
    held = await leases.heartbeat(store, second, ["main"], NOW + timedelta(seconds=31), lease_seconds=30)
    assert held.accounts == {"main"} and held.taken_over == {"main"}
    assert (await leases.lease_holders(store))["extra"][0] == first


async def test_a_heartbeat_renews_the_lease_it_holds(store):
    await leases.heartbeat(store, "h:1:a", ["main"], NOW, lease_seconds=30)
    for s in (20, 40, 60):
        held = await leases.heartbeat(store, "h:1:a", ["main"], NOW + timedelta(seconds=s), lease_seconds=30)
        assert held.accounts == {"main"} and held.acquired == set()
    assert await leases.heartbeat(store, "h:2:b", ["main"], NOW + timedelta(seconds=70), lease_seconds=30) \
        == leases.Held(set(), set(), set())


async def test_status_shows_processes_alive_outbox_depth_and_sweeps(store):
    await leases.heartbeat(store, "h:1:a", ["main"], NOW)
    await leases.heartbeat(store, "h:2:b", ["other"], NOW - timedelta(minutes=5))
    await queued(store, 2)
    status = await leases.shared_status(store, NOW)
    assert [p["id"] for p in status["processes"]] == ["h:1:a"]
    assert status["processes"][0]["accounts"] == ["main"]
    assert status["pending"] == 2 and status["oldest_pending"] is not None
