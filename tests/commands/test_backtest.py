"""Backtest and search over stored posts through the lemma index."""
from datetime import datetime, timedelta, timezone

from bot.history.backtest import query_target, run_backtest
from bot.commands import dispatch, dispatch_callback
from bot.history.search import search_posts
from bot.storage.lemma_index import indexed_count, indexed_up_to, refresh_lemma_index
from tests.commands.cmd_helpers import NOW, OPERATOR, SUBSCRIBER
from tests.factories import add_posts, add_rule, make_post
from tests.fakes import lower_words


def day(n: int, hour: int = 9) -> datetime:
    return datetime(2024, 5, n, hour, tzinfo=timezone.utc)


async def test_lemma_index_indexes_only_new_posts(store):
    await add_posts(store, [make_post(), make_post()])
    assert await refresh_lemma_index(store, lower_words) == 2
    await add_posts(store, [make_post()])
    assert await refresh_lemma_index(store, lower_words) == 1
    assert await indexed_up_to(store) == 3


async def test_concurrent_refreshes_index_each_post_once(store):
    import asyncio

    await add_posts(store, [make_post() for _ in range(3)])
    counts = await asyncio.gather(*(refresh_lemma_index(store, lower_words) for _ in range(3)))
    assert sorted(counts) == [0, 0, 3]
    assert await indexed_count(store) == 3


async def test_backtest_counts_per_day_and_channel_with_five_newest(store):
    posts = [make_post(text=f"Мобилизация номер {i}", date=day(1 + i % 3, 8 + i)) for i in range(7)]
    posts += [make_post(text="мобилизация в Твери", channel="tver", channel_id=-1002, date=day(9))]
    posts += [make_post(text="Погода", date=day(9)), make_post(text="Мобилизация давно", date=day(1) - timedelta(days=60))]
    await add_posts(store, posts)
    result = await run_backtest(store, query_target("мобилизация"), NOW, days=30)
    assert result.total == 8
    assert result.per_day == [("2024-05-09", 1), ("2024-05-03", 2), ("2024-05-02", 2), ("2024-05-01", 3)]
    assert result.per_channel == [("@pskovgubernia", 7), ("@tver", 1)]
    assert [p["excerpt"] for p in result.newest][:2] == ["мобилизация в Твери", "Мобилизация номер 5"]
    assert len(result.newest) == 5


async def test_backtest_of_a_stored_rule_respects_its_exclude(store, make_ctx, people):
    await add_rule(store, "mob", "мобилизация", exclude="учения")
    await add_posts(store, [make_post(text="Мобилизация"), make_post(text="Мобилизация и учения")])
    reply = await dispatch(make_ctx(OPERATOR), "/backtest mob 30")
    assert "Backtest of rule mob: 1 posts in the last 30 days" in reply.html


async def test_backtest_of_a_bad_query_shows_the_caret(make_ctx, people):
    reply = await dispatch(make_ctx(OPERATOR), "/backtest (мобилизация")
    assert "^" in reply.html and "column" in reply.html


async def test_search_is_newest_first_and_paged(store):
    await add_posts(store, [make_post(text=f"повестка {i}", date=day(1, 1 + i)) for i in range(7)])
    first = await search_posts(store, query_target("повестка"), page=1, per_page=5)
    second = await search_posts(store, query_target("повестка"), page=2, per_page=5)
    assert [p["excerpt"] for p in first.posts] == [f"повестка {i}" for i in (6, 5, 4, 3, 2)]
    assert first.has_more and not second.has_more
    assert [p["excerpt"] for p in second.posts] == ["повестка 1", "повестка 0"]


async def test_search_command_pages_with_buttons(store, make_ctx, people):
    await add_posts(store, [make_post(text=f"повестка {i}", date=day(1, 1 + i)) for i in range(7)])
    reply = await dispatch(make_ctx(SUBSCRIBER), "/search повестка")
    assert "повестка 6" in reply.html and reply.buttons[0][0].data == "sp:2"
    older = await dispatch_callback(make_ctx(SUBSCRIBER), "sp:2")
    assert "повестка 0" in older.html and "повестка 6" not in older.html


async def test_search_finds_word_forms(store, make_ctx, people):
    await add_posts(store, [make_post(text="Военкомат разослал повестки"), make_post(text="Погода")])
    reply = await dispatch(make_ctx(SUBSCRIBER), "/search повестка")
    assert "повестки" in reply.html and "Погода" not in reply.html


async def test_search_with_nothing_found(store, make_ctx, people):
    assert "Nothing found" in (await dispatch(make_ctx(SUBSCRIBER), "/search дезертир")).html


async def test_backtest_counts_what_matching_every_post_finds(store):
    texts = ["Объявлена мобилизация", "мобилизованных отправили", "Повестки раздают у метро",
             "военкомат закрыт", "Погода", "Отказался служить", "отказники из ВДВ", "мобилизационный резерв"]
    await add_posts(store, [make_post(text=t) for t in texts])
    for query in ("мобилизация", "мобилиз*", "повестка OR военкомат", "отказ* AND служ*", "/мобил\\w+/"):
        target = query_target(query)
        expected = sum(1 for t in texts if target.spans(t, None, None))
        assert (await run_backtest(store, target, NOW)).total == expected, query


async def test_backtest_of_a_query_without_indexable_words_says_it_read_only_the_newest(store, monkeypatch):
    import bot.history.backtest as backtest
    monkeypatch.setattr(backtest, "SCAN_LIMIT", 3)
    await add_posts(store, [make_post(text=f"мобилизация {i}", date=day(1, i + 1)) for i in range(5)])
    result = await run_backtest(store, query_target("/мобилизац\\w+/"), NOW)
    assert result.capped and result.total == 3
    assert "3 posts among the newest 3 in the last 30 days" in backtest.backtest_lines(result)[0]
