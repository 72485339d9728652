"""Deliberate storage faults for tests: the one place outside bot/storage/ that may hold SQL.

Each fault goes through the store's own connection, so the code under test
meets it on its ordinary path (Store.write, Store.fetchall) with the error
SQLite gives for the real thing:
- `fill_disk` caps the file at the pages it has now (max_page_count); the
  next growth fails with SQLITE_FULL, as on a full filesystem. `free_disk`
  lifts the cap ("space freed").
- `read_only` makes every write fail with SQLITE_READONLY (query_only), as
  a read-only file or mount would; `writable` undoes it.
- `break_outbox_inserts` adds a trigger that aborts every outbox insert.
- `hide_outbox` renames the outbox table away, so every read of it fails;
  `restore_outbox` puts it back.
- `integrity_check` runs SQLite's own check on a database file (for after a
  SIGKILL) and returns its first line, "ok" when sound.
(Tests run as root in CI, and root ignores file modes, so chmod proves nothing.)
"""
from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from bot.storage import Store

_NO_CAP = 1073741823  # SQLite's default max_page_count


async def fill_disk(store: Store) -> None:
    """Cap the database at the pages it has now: the next growth fails as on a full disk."""
    pages = await store.fetchval("PRAGMA page_count")
    await store.fetchval(f"PRAGMA max_page_count = {int(pages)}")


async def free_disk(store: Store) -> None:
    """Lift the cap `fill_disk` set."""
    await store.fetchval(f"PRAGMA max_page_count = {_NO_CAP}")


async def read_only(store: Store) -> None:
    """Make every write on the store's connection fail as on a read-only database."""
    await store.fetchval("PRAGMA query_only = ON")


async def writable(store: Store) -> None:
    """Undo `read_only`."""
    await store.fetchval("PRAGMA query_only = OFF")


async def break_outbox_inserts(store: Store) -> None:
    """Every later insert into the outbox aborts with 'boom' (and with it the transaction it is in)."""
    await store.write(lambda conn: conn.execute(
        "CREATE TRIGGER no_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'boom'); END"))


async def hide_outbox(store: Store) -> None:
    """Rename the outbox table away: every read or write of it fails until `restore_outbox`."""
    await store.write(lambda conn: conn.execute("ALTER TABLE outbox RENAME TO outbox_away"))


async def restore_outbox(store: Store) -> None:
    """Undo `hide_outbox`."""
    await store.write(lambda conn: conn.execute("ALTER TABLE outbox_away RENAME TO outbox"))


def integrity_check(path: Path | str) -> str:
    """SQLite's integrity check of the database file at `path`: "ok", or the first problem it found."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
