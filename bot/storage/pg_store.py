"""`PgStore`: the `Store` API on PostgreSQL (selected by a `postgresql://` DOZOR_DB).

Same contract as the SQLite store: `write(fn)` runs `fn(conn)` as one transaction (one at a time
per process; other processes write concurrently, rows they contend for are claimed with
`FOR UPDATE SKIP LOCKED` by the modules that need it), reads use pooled autocommit connections.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Iterable, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool

from bot.errors import StorageError
from bot.storage import pg_sql
from bot.storage.base import StoreBase, split_sql, utcnow_iso
from bot.storage.migrations import MIGRATIONS
from bot.storage.pg import (
    MIGRATION_LOCK,
    PgConnection,
    Row,
    configure_adapters,
    masked,
    read_schema,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
POOL_SIZE = 8
RETRIES = 3  # a write unit that deadlocked with another process is run again this often in all


async def _configure(raw: psycopg.AsyncConnection) -> None:
    configure_adapters(raw)


class PgStore(StoreBase):
    dialect = "postgresql"

    def __init__(self, pool: AsyncConnectionPool, dsn: str):
        super().__init__(masked(dsn))
        self.conn = None  # connections come from the pool, one per write or read
        self.pool = pool
        self.dsn = dsn
        self.schema = pg_sql.Schema()

    @classmethod
    async def open(cls, path) -> "PgStore":
        dsn = str(path)
        pool = AsyncConnectionPool(dsn, min_size=1, max_size=POOL_SIZE, open=False, configure=_configure,
                                   kwargs={"autocommit": True}, name="dozor")
        try:
            await pool.open(wait=True, timeout=15)
        except Exception as exc:  # psycopg_pool.PoolTimeout carries the connection error text
            await pool.close()
            raise StorageError(f"cannot open database {masked(dsn)}: {exc}") from exc
        store = cls(pool, dsn)
        try:
            await store._migrate()
        except psycopg.Error as exc:
            await pool.close()
            raise StorageError(f"cannot migrate database {masked(dsn)}: {exc}") from exc
        except BaseException:
            await pool.close()
            raise
        return store

    async def close(self) -> None:
        await self.pool.close()

    async def _migrate(self) -> None:
        async with self.pool.connection() as raw:
            async with raw.transaction():
                await raw.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                for statement in pg_sql.BOOTSTRAP:
                    await raw.execute(statement)
                await raw.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
                done = {r[0] for r in await (await raw.execute("SELECT name FROM migrations")).fetchall()}
                for name, sql in MIGRATIONS:
                    if name in done:
                        continue
                    log.debug("applying migration %s (PostgreSQL)", name)
                    async with raw.transaction():
                        for statement in pg_sql.pg_migration(name, split_sql(sql)):
                            try:
                                await raw.execute(statement)
                            except psycopg.Error as exc:
                                raise StorageError(f"migration {name} fails on PostgreSQL: {exc}") from exc
                        await raw.execute("INSERT INTO migrations(name, applied_at) VALUES (%s, %s)",
                                          (name, utcnow_iso()))
            self.schema = await read_schema(raw)

    async def write(self, fn: Callable[[PgConnection], Awaitable[T]]) -> T:
        """Run `fn(conn)` as one transaction. Raises StorageError on a database failure.

        A deadlock with another process (both rolled back by the server but one) runs `fn` again,
        up to RETRIES times: a write unit only touches the database, so running it again is safe."""
        async with self._write_lock:
            for attempt in range(1, RETRIES + 1):
                try:
                    async with self.pool.connection() as raw:
                        async with raw.transaction():
                            return await fn(PgConnection(raw, self.schema))
                except (pg_errors.DeadlockDetected, pg_errors.SerializationFailure) as exc:
                    if attempt == RETRIES:
                        raise StorageError(f"cannot write to {self.path}: {exc}") from exc
                    log.info("write to %s collided with another process (%s); again", self.path, type(exc).__name__)
                except psycopg.Error as exc:
                    raise StorageError(f"cannot write to {self.path}: {exc}") from exc
        raise AssertionError("unreachable")

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        async with self.pool.connection() as raw:
            return await PgConnection(raw, self.schema).execute_fetchall(sql, params)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None
