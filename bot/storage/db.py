"""The database: one aiosqlite connection, WAL, foreign keys, migrations, one door for writes.

Every write goes through `Store.write(fn)`: `fn` is an async function of the
connection, run alone (an asyncio lock) inside BEGIN IMMEDIATE … COMMIT, so a
post, its matches and its outbox rows commit together or not at all. Reads
use `Store.fetchall` / `fetchone` and never hold the lock.
Query helpers live in topical modules beside this one (posts.py, outbox.py, …)
as plain async functions that take the connection.
"""
from __future__ import annotations

import hashlib
import logging
import sqlite3
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterable, TypeVar

import aiosqlite

from bot.datadir import create_private_file, make_private_dir, secure_db_files
from bot.errors import StorageError
from bot.storage.base import StoreBase, new_process_id, split_sql, utcnow_iso  # noqa: F401 (re-exported)
from bot.storage.migrations import MIGRATIONS
from bot.storage.pg_url import is_postgres_url

log = logging.getLogger(__name__)
T = TypeVar("T")


def to_iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def to_iso_precise(moment: datetime) -> str:
    """UTC ISO text to the microsecond, for due times that must not round into the past.

    Compares correctly with `to_iso` text: "…:05+00:00" sorts before "…:05.000001+00:00"."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def from_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


class Store(StoreBase):
    """An open database. Use `await Store.open(path)` and `await store.close()`.

    A `postgresql://` target opens PostgreSQL instead (bot/storage/pg_store.py, same API)."""
    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, path: str):
        super().__init__(path)
        self.conn = conn

    @classmethod
    async def open(cls, path: Path | str) -> "Store":
        """Open (creating if needed) and migrate. ':memory:' gives a private in-memory database."""
        target = str(path)
        if is_postgres_url(target):
            from bot.storage.pg_store import (
                PgStore,  # psycopg is loaded only for PostgreSQL
            )
            return await PgStore.open(target)
        if target != ":memory:":
            make_private_dir(Path(target).parent)
            create_private_file(target)
            secure_db_files(target)
        conn = None
        try:
            conn = await aiosqlite.connect(target, isolation_level=None)
            conn.row_factory = aiosqlite.Row
            await conn.create_function("dozor_sha256", 1, sha256_hex, deterministic=True)
            await conn.execute("PRAGMA foreign_keys = ON")
            if target != ":memory:":
                await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA busy_timeout = 5000")
            store = cls(conn, target)
            await store._migrate()
            if target != ":memory:":
                secure_db_files(target)  # the -wal/-shm files exist only now
        except sqlite3.Error as exc:
            if conn is not None:
                await conn.close()  # its worker thread would otherwise keep the process alive
            raise StorageError(f"cannot open database {target}: {exc}") from exc
        return store

    async def close(self) -> None:
        await self.conn.close()

    async def _migrate(self) -> None:
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in await self.conn.execute_fetchall("SELECT name FROM migrations")}
        todo = [(name, sql) for name, sql in MIGRATIONS if name not in done]
        if not todo:
            return
        # a migration may drop secrets (plain invite codes): zero what it frees, and leave no old copy
        # in the WAL's main file once it is done
        await self.conn.execute("PRAGMA secure_delete = ON")
        for name, sql in todo:
            log.debug("applying migration %s", name)
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in split_sql(sql):
                    await self.conn.execute(statement)
                await self.conn.execute(
                    "INSERT INTO migrations(name, applied_at) VALUES (?, ?)", (name, utcnow_iso())
                )
                await self.conn.execute("COMMIT")
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
        log.info("database %s migrated: %s … %s (%d steps)", self.path, todo[0][0], todo[-1][0], len(todo))
        await self.conn.execute("PRAGMA secure_delete = OFF")
        await self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def write(self, fn: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run `fn(conn)` as one transaction, alone. Raises StorageError on SQLite failure."""
        async with self._write_lock:
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StorageError(f"cannot write to {self.path}: {exc}") from exc
            try:
                result = await fn(self.conn)
                await self.conn.execute("COMMIT")
                return result
            except BaseException as exc:
                try:
                    await self.conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                if isinstance(exc, sqlite3.Error):
                    raise StorageError(f"cannot write to {self.path}: {exc}") from exc
                raise

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        """The first row, or None. One trip to the database thread (a cursor takes three), which is
        most of a delivery's cost when the machine is busy (bench/webhook_bench.py); every caller
        asks for one row by key, an aggregate or LIMIT 1."""
        rows = await self.conn.execute_fetchall(sql, tuple(params))
        return rows[0] if rows else None



def sha256_hex(text: str | None) -> str | None:
    """SHA-256 of UTF-8 text as hex (also SQL's dozor_sha256, for migrations)."""
    return None if text is None else hashlib.sha256(str(text).encode()).hexdigest()


@asynccontextmanager
async def open_store(path: Path | str) -> AsyncIterator[Store]:
    store = await Store.open(path)
    try:
        yield store
    finally:
        await store.close()
