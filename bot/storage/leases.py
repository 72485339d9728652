"""Processes sharing one store, and their leases on Telegram accounts (migration 0020a_shared_store).

Each process registers itself (`processes`, heartbeat) and, every heartbeat, renews the leases
it holds and takes any account of its own (DOZOR_ACCOUNTS / TG_SESSION) whose lease is free or
expired: `heartbeat()` returns what it holds and what it took over from another holder, whose
channels the caller sweeps at once (a late-marked gap sweep, as after any downtime). A lease runs
`lease_seconds` past the last heartbeat, so a killed holder's accounts move within that time.
Times are ISO text in UTC and compare as text. Portable SQL: the same on SQLite (one process).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.storage.db import Store, new_process_id, to_iso  # noqa: F401 (new_process_id: one definition)

LEASE_SECONDS = 30.0


@dataclass
class Held:
    accounts: set[str] = field(default_factory=set)   # held after this heartbeat
    taken_over: set[str] = field(default_factory=set)  # newly taken from another (lapsed) holder
    acquired: set[str] = field(default_factory=set)    # newly taken, free or lapsed


async def heartbeat(store: Store, process_id: str, accounts: list[str], now: datetime,
                    lease_seconds: float = LEASE_SECONDS) -> Held:
    """Record that `process_id` is alive, renew its leases and take free or lapsed ones of `accounts`."""
    now_iso, until = to_iso(now), to_iso(now + timedelta(seconds=lease_seconds))
    host, pid = process_id.split(":")[0], int(process_id.split(":")[1])

    async def beat(conn) -> Held:
        await conn.execute(
            "INSERT INTO processes(id, host, pid, accounts, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, accounts = excluded.accounts",
            (process_id, host, pid, json.dumps(sorted(accounts)), now_iso, now_iso))
        before = {r[0]: r[1] for r in await conn.execute_fetchall(
            "SELECT account, holder FROM account_leases WHERE holder = ? OR expires_at <= ?", (process_id, now_iso))}
        for account in accounts:
            await conn.execute(
                "INSERT INTO account_leases(account, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(account) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,"
                " acquired_at = CASE WHEN account_leases.holder = excluded.holder THEN account_leases.acquired_at"
                " ELSE excluded.acquired_at END"
                " WHERE account_leases.holder = excluded.holder OR account_leases.expires_at <= ?",
                (account, process_id, now_iso, until, now_iso))
        held = {r[0] for r in await conn.execute_fetchall(
            "SELECT account FROM account_leases WHERE holder = ?", (process_id,))}
        mine_before = {a for a, h in before.items() if h == process_id}
        new = held - mine_before
        return Held(held, {a for a in new if a in before and before[a] != process_id}, new)

    return await store.write(beat)


async def release(store: Store, process_id: str) -> None:
    """A clean stop: give the accounts back at once and leave the list of processes."""
    async def drop(conn) -> None:
        await conn.execute("DELETE FROM account_leases WHERE holder = ?", (process_id,))
        await conn.execute("DELETE FROM processes WHERE id = ?", (process_id,))
    await store.write(drop)


async def lease_holders(store: Store) -> dict[str, tuple[str, str]]:
    """account → (holder process id, expires_at)."""
    rows = await store.fetchall("SELECT account, holder, expires_at FROM account_leases ORDER BY account")
    return {r[0]: (r[1], r[2]) for r in rows}


async def processes_alive(store: Store, now: datetime, lease_seconds: float = LEASE_SECONDS) -> list[dict]:
    """Processes heard from within the lease time, with the accounts they hold and their channels."""
    since = to_iso(now - timedelta(seconds=lease_seconds))
    rows = await store.fetchall(
        "SELECT id, host, pid, heartbeat_at FROM processes WHERE heartbeat_at >= ? ORDER BY id", (since,))
    out = []
    for row in rows:
        held = [r[0] for r in await store.fetchall(
            "SELECT account FROM account_leases WHERE holder = ? ORDER BY account", (row["id"],))]
        marks = ", ".join("?" for _ in held) or "NULL"
        channels = await store.fetchval(
            f"SELECT count(*) FROM channels WHERE account IN ({marks}) AND status = 'active'", held, 0)
        out.append({"id": row["id"], "heartbeat_at": row["heartbeat_at"], "accounts": held, "channels": channels})
    return out


async def record_sweep(store: Store, channel_id: int, now: datetime) -> None:
    await store.write(lambda conn: conn.execute(
        "UPDATE channels SET last_sweep_at = ? WHERE id = ?", (to_iso(now), channel_id)))


async def shared_status(store: Store, now: datetime) -> dict:
    """`dozor status` for a shared store: processes alive, outbox depth and oldest pending, sweeps."""
    return {
        "processes": await processes_alive(store, now),
        "pending": await store.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'", (), 0),
        "oldest_pending": await store.fetchval("SELECT min(created_at) FROM outbox WHERE status = 'pending'"),
        "claimed": await store.fetchval(
            "SELECT count(*) FROM outbox WHERE status = 'pending' AND claimed_until > ?", (to_iso(now),), 0),
        "sweeps": [tuple(r) for r in await store.fetchall(
            "SELECT coalesce(username, CAST(id AS TEXT)), last_sweep_at FROM channels"
            " WHERE status = 'active' ORDER BY last_sweep_at, id")],
    }
