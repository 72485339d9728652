"""The named key-value store (table `state`, migration 0008) and its move from scheduler_state."""
from datetime import datetime, timezone

import bot.storage.db as db_module
from bot.storage import Store, kv
from bot.storage.migrations import MIGRATIONS

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)


async def test_a_missing_key_gives_the_default(store):
    assert await kv.get_text(store, "nothing") is None
    assert await kv.get_text(store, "nothing", "x") == "x"
    assert await kv.get_int(store, "nothing") == 0
    assert await kv.get_int(store, "nothing", 7) == 7


async def test_set_text_replaces_the_value_and_its_time(store):
    await store.write(lambda c: kv.set_text(c, "search:42", "мобилизация", NOW))
    await store.write(lambda c: kv.set_text(c, "search:42", "повестка", NOW.replace(hour=10)))
    assert await kv.get_text(store, "search:42") == "повестка"
    assert await store.fetchval("SELECT updated_at FROM state WHERE key = 'search:42'") == "2024-05-01T10:00:00+00:00"


async def test_raise_int_only_moves_a_mark_up(store):
    await store.write(lambda c: kv.raise_int(c, "mark", 10, NOW))
    await store.write(lambda c: kv.raise_int(c, "mark", 3, NOW))
    assert await kv.get_int(store, "mark") == 10
    await store.write(lambda c: kv.raise_int(c, "mark", 12, NOW))
    assert await kv.get_int(store, "mark") == 12


async def test_migration_copies_scheduler_state_rows(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    before_kv = [m for m in MIGRATIONS if m[0] < "0007"]
    monkeypatch.setattr(db_module, "MIGRATIONS", before_kv)
    old = await Store.open(path)
    await old.write(lambda c: c.executemany(
        "INSERT INTO scheduler_state(key, value, updated_at) VALUES (?, ?, ?)",
        [("lemma_index.last_id", "41", "2024-05-01T00:00:00+00:00"),
         ("search:7", "отказ", "2024-05-02T00:00:00+00:00"),
         ("empty", None, "2024-05-03T00:00:00+00:00")]))
    await old.close()
    monkeypatch.setattr(db_module, "MIGRATIONS", MIGRATIONS)
    store = await Store.open(path)
    try:
        assert await kv.get_int(store, "lemma_index.last_id") == 41
        assert await kv.get_text(store, "search:7") == "отказ"
        assert await kv.get_text(store, "empty") is None
        assert await store.fetchval(
            "SELECT count(*) FROM sqlite_master WHERE name = 'scheduler_state'") == 0
    finally:
        await store.close()
