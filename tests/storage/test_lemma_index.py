"""The lemma index is filled at ingest (pipeline, replay included), so a backtest waits for nothing;
a refresh indexes only what ingest did not, and rebuilds the index when the word forms change."""
from bot.pipeline import Pipeline
from bot.rules import compile_rules
from bot.models import RuleDef
from bot.storage import kv
from bot.storage.history import indexed_post_ids
from bot.storage.lemma_index import (VERSION_KEY, indexed_count, indexed_up_to, refresh_lemma_index,
                                     unindexed_count)
from bot.text import LEMMA_VERSION, lemma_text
from tests.factories import add_posts, make_post

RULES = compile_rules([RuleDef(id="mob", query="повестка")])


async def found(store, lemma):
    """Post ids whose indexed lemmas hold `lemma` (the table is contentless: it can only be searched)."""
    return sorted(await indexed_post_ids(store, '"' + lemma + '"'))


async def test_posts_stored_by_the_pipeline_are_indexed_in_the_same_transaction(store):
    new = await Pipeline(store, RULES).on_posts([make_post(text="Пришли повестки"), make_post(text="Soldiers went home")])
    assert new == 2 and await indexed_count(store) == 2 and await indexed_up_to(store) == 2
    assert lemma_text("Пришли повестки") == "прислать повестка" and await found(store, "повестка") == [1]
    assert await found(store, "soldier") == [2] and await found(store, "go") == [2]
    assert await unindexed_count(store) == 0 and await refresh_lemma_index(store) == 0


async def test_posts_stored_before_are_left_to_the_refresh_and_indexed_once(store):
    await add_posts(store, [make_post(text="старый пост"), make_post(text="ещё один")])  # not through the pipeline
    await Pipeline(store, RULES).on_posts([make_post(text="новая повестка")])
    assert await indexed_count(store) == 1 and await indexed_up_to(store) == 0  # the mark waits for the old ones
    assert await unindexed_count(store) == 2
    assert await refresh_lemma_index(store) == 2
    assert await indexed_count(store) == 3 and await indexed_up_to(store) == 2
    await Pipeline(store, RULES).on_posts([make_post(text="ещё повестка")])
    assert await indexed_up_to(store) == 4 and await refresh_lemma_index(store) == 0


async def test_an_index_of_older_word_forms_is_rebuilt_with_progress(store):
    await add_posts(store, [make_post(text=f"пост {n}") for n in range(3)])
    await store.write(lambda conn: conn.execute("INSERT INTO posts_lemmas(rowid, lemmas) VALUES (1, 'old')"))
    calls = []
    assert await refresh_lemma_index(store, progress=lambda done, total: calls.append((done, total))) == 3
    assert calls == [(3, 3)] and await found(store, "old") == [] and await found(store, "пост") == [1, 2, 3]
    assert await kv.get_int(store, VERSION_KEY) == LEMMA_VERSION


def test_a_replay_leaves_the_index_current(workdir):
    import asyncio
    from bot.__main__ import main
    from bot.storage import open_store
    assert main(["run"]) == 0

    async def counts():
        async with open_store(workdir / "data" / "demo.db") as store:  # the built-in sample's own database
            return (await indexed_count(store), await store.fetchval("SELECT count(*) FROM posts", (), 0),
                    await unindexed_count(store))

    indexed, posts, left = asyncio.run(counts())
    assert indexed == posts > 0 and left == 0
