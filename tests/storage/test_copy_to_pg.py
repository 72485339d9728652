"""`dozor db migrate-to`: a SQLite database copied into PostgreSQL, resumably, counts checked."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from bot.__main__ import main
from bot.history.backtest import query_target, run_backtest
from bot.pipeline import Pipeline
from bot.storage import Store, copy_to_pg
from tests.factories import add_subscriber, default_rules, make_post

NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)
TEXTS = ["Объявлена мобилизация в области", "Отказ от службы", "Погода хорошая", "Повестки пришли"]


async def filled_sqlite(path) -> Store:
    store = await Store.open(path)
    await add_subscriber(store, chat_id=42)
    await add_subscriber(store, chat_id=43)
    pipeline = Pipeline(store, default_rules(), clock=lambda: NOW)
    for i in range(40):
        await pipeline.on_post(make_post(message_id=i + 1, text=TEXTS[i % 4], date=NOW))
    return store


async def test_copy_is_resumable_and_ends_with_equal_counts(tmp_path, pg_url):
    source = await filled_sqlite(tmp_path / "d.db")
    target = await Store.open(pg_url)
    try:
        def stop_after_first_batch(table, copied):
            if table == "posts":
                raise KeyboardInterrupt
        with pytest.raises(KeyboardInterrupt):
            await copy_to_pg.copy_database(source, target, batch=7, on_batch=stop_after_first_batch)
        assert await target.fetchval("SELECT count(*) FROM posts") == 7
        report = await copy_to_pg.copy_database(source, target, batch=7)
        assert report.copied["posts"] == 33 and report.counts["posts"] == 40
        assert report.counts["outbox"] == await source.fetchval("SELECT count(*) FROM outbox") > 0
        assert await copy_to_pg.counts_differ(source, target, list(report.counts)) == {}
        found = await run_backtest(target, query_target("мобилизация"), NOW, days=1)
        assert found.total == 10
        new_id = await target.write(lambda c: c.execute(
            "INSERT INTO audit_log(at, actor, action, object_kind, object_id) VALUES ('t', 'a', 'x', 'y', 'z')"))
        assert new_id.lastrowid > await source.fetchval("SELECT coalesce(max(id), 0) FROM audit_log")
    finally:
        await source.close()
        await target.close()


async def test_copy_into_a_database_that_has_rows_is_refused(tmp_path, pg_url):
    source = await filled_sqlite(tmp_path / "d.db")
    target = await Store.open(pg_url)
    try:
        await add_subscriber(target, chat_id=7)
        with pytest.raises(Exception, match="already has rows"):
            await copy_to_pg.copy_database(source, target)
    finally:
        await source.close()
        await target.close()


def test_the_command_copies_and_says_where_to_point_dozor_db(workdir, pg_url, capsys, monkeypatch):
    async def fill():
        await (await filled_sqlite(workdir / "data" / "dozor.db")).close()
    asyncio.run(fill())
    monkeypatch.setenv("DOZOR_DB", str(workdir / "data" / "dozor.db"))
    assert main(["db", "migrate-to", pg_url]) == 0
    out = capsys.readouterr().out
    assert "counts checked" in out and "DOZOR_DB=postgresql://" in out
