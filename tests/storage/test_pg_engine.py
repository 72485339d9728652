"""PostgreSQL engine: every migration applies, SQLite SQL translates, rows behave like sqlite3.Row."""
from __future__ import annotations

import pytest

from bot.errors import StorageError
from bot.storage import Store, pg_sql
from bot.storage.lemma_tsquery import fts5_to_tsquery, tsvector_literal
from bot.storage.migrations import MIGRATIONS

SCHEMA = pg_sql.Schema({"rules": ["id"], "rule_mutes": ["subscriber_id", "rule_id"]}, {"posts"})


async def test_every_migration_applies_on_postgresql_and_is_recorded_once(pg_databases):
    url = pg_databases.new()
    try:
        for _ in range(2):
            store = await Store.open(url)
            names = [r[0] for r in await store.fetchall("SELECT name FROM migrations ORDER BY name")]
            await store.close()
            assert names == sorted(name for name, _ in MIGRATIONS)
    finally:
        pg_databases.drop(url)


def test_a_migration_with_sqlite_only_sql_and_no_override_fails_loudly():
    with pytest.raises(StorageError, match="0099_x.*override"):
        pg_sql.pg_migration("0099_x", ["CREATE TRIGGER t AFTER INSERT ON posts BEGIN SELECT 1; END"])


def test_placeholders_become_psycopg_ones_outside_literals():
    sql = pg_sql.translate("SELECT '?', \"a?\" FROM t WHERE a = ? AND b LIKE '%x' -- why?", SCHEMA).sql
    assert sql == "SELECT '?', \"a?\" FROM t WHERE a = %s AND b LIKE '%%x' -- why?"


def test_insert_or_ignore_becomes_on_conflict_do_nothing_with_returning_id():
    plan = pg_sql.translate("INSERT OR IGNORE INTO posts(channel_id, text) VALUES (?, ?)", SCHEMA)
    assert plan.sql == "INSERT INTO posts(channel_id, text) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING id"
    assert plan.returns_id


def test_insert_or_replace_updates_the_other_columns_on_the_primary_key():
    plan = pg_sql.translate("INSERT OR REPLACE INTO rule_mutes(subscriber_id, rule_id, until) VALUES (?, ?, ?)", SCHEMA)
    assert plan.sql.endswith("ON CONFLICT (subscriber_id, rule_id) DO UPDATE SET until = EXCLUDED.until")


def test_update_or_ignore_is_flagged_for_a_savepoint():
    plan = pg_sql.translate("UPDATE OR IGNORE subscribers SET chat_id = ? WHERE id = ?", SCHEMA)
    assert plan.ignore_unique and plan.sql.startswith("UPDATE subscribers SET")


def test_a_null_parameter_tested_for_null_gets_a_type():
    assert "CAST(%s AS TEXT) IS NOT NULL" in pg_sql.translate("SELECT 1 WHERE ? IS NOT NULL", SCHEMA).sql


def test_fts5_lemma_queries_become_tsqueries():
    assert fts5_to_tsquery('("отказ" OR "отказаться") AND "повестк"*') == "( 'отказ' | 'отказаться' ) & 'повестк':*"
    assert fts5_to_tsquery('"a-b"') == "('a' & 'b')"
    assert fts5_to_tsquery('"#"') == pg_sql_nothing()
    assert tsvector_literal("Отказ отказ_вдв 12") == "'12' 'вдв' 'отказ'"


def pg_sql_nothing() -> str:
    from bot.storage.lemma_tsquery import NOTHING
    return NOTHING


async def test_sqlite_isms_run_on_postgresql(pg_url):
    store = await Store.open(pg_url)
    try:
        async def work(conn):
            await conn.execute("INSERT INTO channels(id, username, added_at) VALUES (?, ?, ?)", (-100123, "Pskov", "t"))
            cur = await conn.execute("INSERT OR IGNORE INTO channels(id, username, added_at) VALUES (?, ?, ?)",
                                     (-100123, "pskov", "t"))
            assert cur.rowcount == 0
            await conn.execute("UPDATE channels SET last_seen_id = MAX(last_seen_id, ?) WHERE id = ?", (7, -100123))
            async with conn.execute("SELECT id, username AS name FROM channels WHERE username = ?", ("PSKOV",)) as c:
                return await c.fetchone()
        row = await store.write(work)
        assert (row[0], row["name"], row["NAME"], dict(row)) == (-100123, "Pskov", "Pskov", {"id": -100123, "name": "Pskov"})
        assert await store.fetchval("SELECT last_seen_id FROM channels") == 7
        assert await store.fetchval("SELECT dozor_sha256('a')") == \
            "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
    finally:
        await store.close()


async def test_a_failed_postgresql_write_is_a_storage_error_and_rolls_back(pg_url):
    store = await Store.open(pg_url)
    try:
        async def bad(conn):
            await conn.execute("INSERT INTO channels(id, title, added_at) VALUES (1, 'a', 't')")
            await conn.execute("INSERT INTO nowhere VALUES (1)")
        with pytest.raises(StorageError, match="nowhere"):
            await store.write(bad)
        assert await store.fetchval("SELECT count(*) FROM channels") == 0
    finally:
        await store.close()


async def test_an_unreachable_server_is_a_storage_error_without_the_password():
    with pytest.raises(StorageError) as caught:
        await Store.open("postgresql://dozor:secret@127.0.0.1:1/dozor?connect_timeout=1")
    assert "secret" not in str(caught.value)


async def test_a_write_that_deadlocked_with_another_process_runs_again(pg_url):
    from psycopg import errors as pg_errors
    store = await Store.open(pg_url)
    calls = []
    try:
        async def unit(conn):
            calls.append(1)
            await conn.execute("INSERT INTO channels(id, title, added_at) VALUES (?, 'a', 't')", (len(calls),))
            if len(calls) == 1:
                raise pg_errors.DeadlockDetected("deadlock detected")
            return "done"
        assert await store.write(unit) == "done"
        assert len(calls) == 2 and await store.fetchval("SELECT count(*) FROM channels") == 1
    finally:
        await store.close()
