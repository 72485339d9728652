
import pytest

from bot.errors import StorageError
from bot.storage import Store
from bot.storage import db as db_module
from bot.storage.migrations import MIGRATIONS
from tests.storage.conftest import sqlite_only


async def test_migrations_are_recorded_once(tmp_path):
    path = tmp_path / "d.db"
    first = await Store.open(path)
    await first.close()
    again = await Store.open(path)
    names = [r[0] for r in await again.fetchall("SELECT name FROM migrations ORDER BY name")]
    await again.close()
    assert names == [name for name, _ in MIGRATIONS]


@sqlite_only("pragmas")
async def test_database_uses_wal_and_foreign_keys(store):
    assert (await store.fetchval("PRAGMA journal_mode")).lower() == "wal"
    assert await store.fetchval("PRAGMA foreign_keys") == 1


async def test_failed_write_rolls_back_everything(store):
    async def half(conn):
        await conn.execute(
            "INSERT INTO channels(id, title, added_at) VALUES (1, 'a', '2024-01-01T00:00:00+00:00')"
        )
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await store.write(half)
    assert await store.fetchval("SELECT count(*) FROM channels") == 0


async def test_sqlite_error_in_write_becomes_storage_error(store):
    async def bad(conn):
        await conn.execute("INSERT INTO nowhere VALUES (1)")

    with pytest.raises(StorageError):
        await store.write(bad)


async def test_unreadable_database_is_a_storage_error(tmp_path):
    path = tmp_path / "not-a-db.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError):
        await Store.open(path)


async def test_outbox_actions_migration_keeps_existing_rows_as_sends(tmp_path, monkeypatch):
    """0010_outbox_actions rebuilds the outbox: rows written before it keep every column and become 'send'."""
    path = tmp_path / "old.db"
    before = MIGRATIONS[:[name for name, _ in MIGRATIONS].index("0010_outbox_actions")]  # the schema it met
    monkeypatch.setattr(db_module, "MIGRATIONS", before)
    old = await Store.open(path)
    await old.write(lambda c: c.execute(
        "INSERT INTO subscribers(chat_id, kind, title, created_at) VALUES (42, 'user', 't', '2024-05-01')"))
    await old.write(lambda c: c.execute(
        "INSERT INTO posts(channel_id, message_id, date, text, stored_at) VALUES (-1, 7, '2024-05-01', 'x', '2024-05-01')"))
    await old.write(lambda c: c.execute(
        "INSERT INTO outbox(subscriber_id, post_id, status, sent_message_id, reason, created_at)"
        " VALUES (1, 1, 'sent', 500, 'why', '2024-05-01')"))
    await old.close()
    monkeypatch.setattr(db_module, "MIGRATIONS", MIGRATIONS)
    store = await Store.open(path)
    try:
        [row] = await store.fetchall("SELECT * FROM outbox")
        assert (row["action"], row["status"], row["sent_message_id"], row["reason"]) == ("send", "sent", 500, "why")
        duplicate = "INSERT OR IGNORE INTO outbox(subscriber_id, post_id, created_at) VALUES (1, 1, '2024-05-02')"
        assert (await store.write(lambda c: c.execute(duplicate))).rowcount == 0
    finally:
        await store.close()
