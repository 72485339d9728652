"""Copy a SQLite database into PostgreSQL (`dozor db migrate-to postgresql://…`), resumably.

Both stores are opened (so both are migrated to the same named migrations), then every table
is copied in SQLite rowid order, `batch` rows per PostgreSQL transaction; the same transaction
records how far that table got (state key `migrate_to.<table>`), so an interrupted copy resumes
where it stopped. Identity sequences are moved past the copied ids, the lemma index is left to
be rebuilt on PostgreSQL (it is filled lazily), and at the end every table's row count must be
the same on both sides, or `StorageError` names the tables that differ.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from bot.clock import utc_now
from bot.errors import StorageError
from bot.storage import kv
from bot.storage.db import Store

log = logging.getLogger(__name__)
SKIPPED = ("migrations", "posts_fts", "posts_lemmas", "sqlite_")  # own bookkeeping, or rebuilt on PostgreSQL
PROGRESS = "migrate_to."
FIRST_ROWID = -(2 ** 63)
LEMMA_STATE_KEY = "lemma_index.last_id"


@dataclass
class CopyReport:
    copied: dict[str, int] = field(default_factory=dict)   # rows copied by this run, per table
    counts: dict[str, int] = field(default_factory=dict)   # rows on both sides at the end


async def sqlite_tables(source: Store) -> list[str]:
    rows = await source.fetchall("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")
    return [r[0] for r in rows if not r[0].startswith(SKIPPED) and r[0] not in SKIPPED]


async def _columns(source: Store, target: Store, table: str) -> list[str]:
    mine = [r[1] for r in await source.fetchall(f"PRAGMA table_info({table})")]
    theirs = {r[0] for r in await target.fetchall(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = ?", (table,))}
    return [c for c in mine if c in theirs]


async def copy_table(source: Store, target: Store, table: str, batch: int,
                     on_batch: Callable[[str, int], None] | None = None) -> int:
    """Copy the rows of one table not copied yet; returns how many this call copied."""
    columns = await _columns(source, target, table)
    key = PROGRESS + table
    done = await kv.get_text(target, key)  # the last rowid copied; rowids may be negative (channel ids)
    if done is None and await target.fetchval(f"SELECT count(*) FROM {table}{_own_rows_left_out(table)}", (), 0):
        raise StorageError(f"table {table} already has rows on PostgreSQL: migrate-to needs an empty database")
    has_rowid = table == "alert_posts"  # its insertion order is kept in a rowid column there
    names = ", ".join(columns + (["rowid"] if has_rowid else []))
    marks = ", ".join("?" for _ in columns + (["rowid"] if has_rowid else []))
    last, copied = (FIRST_ROWID if done is None else int(done)), 0
    while True:
        rows = await source.fetchall(
            f"SELECT rowid, {', '.join(columns)} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, batch))
        if not rows:
            return copied
        values = [tuple(r[1:]) + ((r[0],) if has_rowid else ()) for r in rows]
        last = rows[-1][0]

        async def put(conn, values=values, last=last):
            await conn.executemany(f"INSERT INTO {table}({names}) VALUES ({marks}) ON CONFLICT DO NOTHING", values)
            await kv.set_text(conn, key, str(last), utc_now())
        try:
            await target.write(put)
        except StorageError as exc:
            raise StorageError(f"copying {table} (rows after rowid {rows[0][0] - 1}): {exc}") from exc
        copied += len(values)
        if on_batch:
            on_batch(table, copied)


async def _finish(target: Store, tables: list[str]) -> None:
    """Identity sequences past the copied ids; the lemma index rebuilt from scratch on PostgreSQL."""
    async def fix(conn) -> None:
        identities = await conn.execute_fetchall(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND is_identity = 'YES'")
        for table, column in identities:
            if table in tables:
                await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                                   f" (SELECT GREATEST(COALESCE(max({column}), 0) + 1, 1) FROM {table}), false)")
        await kv.set_text(conn, LEMMA_STATE_KEY, "0", utc_now())
    await target.write(fix)


def _own_rows_left_out(table: str) -> str:
    """The state rows the copy itself writes on PostgreSQL are not part of the comparison."""
    return f" WHERE key NOT LIKE '{PROGRESS}%' AND key != '{LEMMA_STATE_KEY}'" if table == "state" else ""


async def counts_differ(source: Store, target: Store, tables: list[str]) -> dict[str, tuple[int, int]]:
    differ = {}
    for table in tables:
        where = _own_rows_left_out(table)
        mine = await source.fetchval(f"SELECT count(*) FROM {table}{where}", (), 0)
        theirs = await target.fetchval(f"SELECT count(*) FROM {table}{where}", (), 0)
        if mine != theirs:
            differ[table] = (mine, theirs)
    return differ


async def copy_database(source: Store, target: Store, batch: int = 5000,
                        on_batch: Callable[[str, int], None] | None = None) -> CopyReport:
    if source.dialect != "sqlite" or target.dialect != "postgresql":
        raise StorageError("migrate-to copies a SQLite database into PostgreSQL")
    report = CopyReport()
    tables = await sqlite_tables(source)
    for table in tables:
        report.copied[table] = await copy_table(source, target, table, batch, on_batch)
        log.info("migrate-to: %s: %d rows copied", table, report.copied[table])
    await _finish(target, tables)
    differ = await counts_differ(source, target, tables)
    if differ:
        shown = ", ".join(f"{t} {a} vs {b}" for t, (a, b) in differ.items())
        raise StorageError(f"row counts differ after the copy (SQLite vs PostgreSQL): {shown}")
    for table in tables:
        report.counts[table] = await target.fetchval(f"SELECT count(*) FROM {table}", (), 0)
    return report
