"""PostgreSQL behind the same `Store` API: a psycopg 3 async pool and a connection adapter.

`PgStore.open(dsn)` opens a pool, defines what SQLite SQL needs (pg_sql.BOOTSTRAP) and applies
the named migrations (the same names as on SQLite; PostgreSQL text from pg_sql.pg_migration),
under an advisory lock so processes starting together migrate once.

`PgConnection` is what a `Store.write(fn)` unit receives: it offers what storage modules use of
aiosqlite (`execute` awaited or used as `async with`, `execute_fetchall`, `executemany`, cursors
with `fetchone`/`fetchall`, `rowcount`, `lastrowid`) and translates each statement
(pg_sql.translate). Rows index by position and by column name like sqlite3.Row.
Parameters: text goes untyped (the server coerces it as SQLite would), booleans as 0/1,
numeric results come back as int (or float when fractional).
Writes run one at a time per process (as on SQLite); processes write concurrently.
"""
from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, Awaitable, Iterable, Sequence, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg.adapt import Dumper, Loader
from psycopg.types.numeric import Int8Dumper

from bot.storage import pg_sql
from bot.storage.pg_url import masked  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)
T = TypeVar("T")
MIGRATION_LOCK = 0x646F7A6F72  # "dozor": pg_advisory_xact_lock key while migrating


class Row:
    """One result row: row[0], row["name"] (case-insensitive), keys(), dict(row), tuple(row)."""
    __slots__ = ("_values", "_index")

    def __init__(self, values: Sequence[Any], index: dict[str, int]):
        self._values = tuple(values)
        self._index = index

    def __getitem__(self, key):
        if isinstance(key, str):
            try:
                return self._values[self._index[key.lower()]]
            except KeyError:
                raise IndexError(f"no such column: {key}") from None
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other) -> bool:
        return tuple(self) == tuple(other) if isinstance(other, (Row, tuple)) else NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._index, self._values))})"


def _row_factory(cursor):
    names = [c.name.lower() for c in cursor.description or ()]
    index = {}
    for i, name in enumerate(names):
        index.setdefault(name, i)  # like sqlite3.Row: the first column of a name wins
    return lambda values: Row(values, index)


class _BoolAsInt(Int8Dumper):
    def dump(self, obj):
        return b"1" if obj else b"0"


class _StrUnknown(Dumper):
    oid = 0  # untyped: the server infers the type from where the parameter stands

    def dump(self, obj):
        return obj.encode()


class _NumericLoader(Loader):
    def load(self, data):
        value = Decimal(bytes(data).decode())
        return int(value) if value == value.to_integral_value() else float(value)


def configure_adapters(conn: psycopg.AsyncConnection | psycopg.Connection) -> None:
    conn.adapters.register_dumper(int, Int8Dumper)  # one integer type, as SQLite has
    conn.adapters.register_dumper(bool, _BoolAsInt)
    conn.adapters.register_dumper(str, _StrUnknown)
    conn.adapters.register_loader("numeric", _NumericLoader)


class PgCursor:
    """The result of one statement, fetched eagerly."""

    def __init__(self, rows: list[Row], rowcount: int, lastrowid: int | None, description):
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid
        self.description = description

    async def fetchone(self) -> Row | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchall(self) -> list[Row]:
        rest, self._next = self._rows[self._next:], len(self._rows)
        return rest

    async def close(self) -> None:
        pass

    def __aiter__(self):
        return self

    async def __anext__(self) -> Row:
        row = await self.fetchone()
        if row is None:
            raise StopAsyncIteration
        return row


class _Pending:
    """`conn.execute(...)` as aiosqlite returns it: awaitable, or an async context manager."""

    def __init__(self, coro: Awaitable[PgCursor]):
        self._coro = coro
        self._cursor: PgCursor | None = None

    def __await__(self):
        return self._coro.__await__()

    async def __aenter__(self) -> PgCursor:
        self._cursor = await self._coro
        return self._cursor

    async def __aexit__(self, *exc) -> None:
        return None


class PgConnection:
    """A psycopg connection speaking the slice of aiosqlite's API storage modules use."""
    dialect = "postgresql"

    def __init__(self, raw: psycopg.AsyncConnection, schema: pg_sql.Schema):
        self.raw = raw
        self.schema = schema

    def execute(self, sql: str, params: Iterable[Any] = ()) -> _Pending:
        return _Pending(self._execute(sql, tuple(params)))

    async def _execute(self, sql: str, params: tuple) -> PgCursor:
        plan = pg_sql.translate(sql, self.schema)
        if plan.ignore_unique:
            try:
                async with self.raw.transaction():  # a savepoint inside Store.write
                    return await self._run(plan, params)
            except pg_errors.UniqueViolation:
                return PgCursor([], 0, None, None)
        return await self._run(plan, params)

    async def _run(self, plan: pg_sql.Translated, params: tuple) -> PgCursor:
        async with self.raw.cursor(row_factory=_row_factory) as cur:
            await cur.execute(plan.sql, params or None) if params else await cur.execute(plan.sql)
            rows = await cur.fetchall() if cur.description is not None else []
            lastrowid = None
            if plan.returns_id:
                lastrowid, rows = (rows[0][0] if rows else None), []
            return PgCursor(rows, cur.rowcount, lastrowid, cur.description)

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        cursor = await self._execute(sql, tuple(params))
        return await cursor.fetchall()

    async def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> PgCursor:
        plan = pg_sql.translate(sql, self.schema)
        rows = [tuple(p) for p in seq]
        if not rows:
            return PgCursor([], 0, None, None)
        statement = plan.sql.removesuffix(" RETURNING id") if plan.returns_id else plan.sql
        async with self.raw.cursor() as cur:
            await cur.executemany(statement, rows)
            return PgCursor([], cur.rowcount, None, None)


async def read_schema(raw: psycopg.AsyncConnection) -> pg_sql.Schema:
    """Primary keys and identity `id` columns of the tables in the current schema."""
    schema = pg_sql.Schema()
    cur = await raw.execute(
        "SELECT tc.table_name, kcu.column_name FROM information_schema.table_constraints tc"
        " JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name"
        " AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name"
        " WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema()"
        " ORDER BY tc.table_name, kcu.ordinal_position")
    for table, column in await cur.fetchall():
        schema.primary_keys.setdefault(table, []).append(column)
    cur = await raw.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND column_name = 'id' AND is_identity = 'YES'")
    schema.identity_tables.update(r[0] for r in await cur.fetchall())
    return schema
