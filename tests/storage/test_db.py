
import pytest

from bot.errors import StorageError
from bot.storage import Store
from bot.storage.migrations import MIGRATIONS


async def test_migrations_are_recorded_once(tmp_path):
    path = tmp_path / "d.db"
    first = await Store.open(path)
    await first.close()
    again = await Store.open(path)
    names = [r[0] for r in await again.fetchall("SELECT name FROM migrations ORDER BY name")]
    await again.close()
    assert names == [name for name, _ in MIGRATIONS]


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
