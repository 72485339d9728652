"""What both engines' stores share: `StoreBase` (bot/storage/db.py's `Store` on SQLite and
bot/storage/pg_store.py's `PgStore` on PostgreSQL derive from it), the id a process claims outbox
rows and holds account leases with, UTC ISO text for `now`, and splitting a migration into
statements. It imports neither engine, so each engine's module imports only this.
"""
from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sqlite3
from typing import Any, Iterable

from bot.clock import utc_now


def utcnow_iso() -> str:
    return utc_now().isoformat(timespec="seconds")


def new_process_id() -> str:
    """host:pid:random, unique among the processes sharing a store."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def split_sql(sql: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


class StoreBase:
    """An open database of either engine; subclasses give open/close/write/fetchall/fetchone."""

    dialect = ""

    def __init__(self, path: str):
        self.path = path
        self.process_id = new_process_id()  # who claims outbox rows and holds account leases
        self._write_lock = asyncio.Lock()

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Any:
        raise NotImplementedError

    async def fetchval(self, sql: str, params: Iterable[Any] = (), default: Any = None) -> Any:
        row = await self.fetchone(sql, params)
        return default if row is None else row[0]
