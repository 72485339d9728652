"""Search never blocks delivery: checks off the event loop, a whole-search time budget."""
import asyncio
import threading
from datetime import datetime, timedelta, timezone

from bot.history import search as search_module
from bot.history.backtest import Target, query_target
from bot.history.search import EVERYTHING, SearchScope, search_posts
from bot.storage.history import history_posts, newest_post_ids
from tests.factories import add_posts, make_post
from tests.fakes import lower_words
from tests.history.test_preview import NOW, QUERIES as GENERATED_QUERIES, generated_posts

WORST = r"/((.)+)+\1\1\1\1\1\1\1/"


def day(hour: int) -> datetime:
    return datetime(2024, 5, 1, hour, tzinfo=timezone.utc)


class TickingClock:
    """A monotonic clock that moves one second each time it is read."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        value = self.now
        self.now += 1.0
        return value


async def test_candidate_checks_run_off_the_event_loop(store):
    """A check that waits for the loop to do something only finishes if the loop is free meanwhile."""
    await add_posts(store, [make_post(text="повестка")])
    loop_ran = threading.Event()
    seen = []

    def spans(text, channel, channel_id):
        seen.append(loop_ran.wait(timeout=10))  # the timeout only keeps a broken build from hanging
        return [(0, 8)]

    async def other_work():
        await asyncio.sleep(0)
        loop_ran.set()

    found, _ = await asyncio.gather(
        search_posts(store, Target("q", None, spans), lemmatize=lower_words), other_work())
    assert seen == [True] and len(found.posts) == 1


async def test_search_stops_at_its_budget_and_answers_with_what_it_found(store):
    await add_posts(store, [make_post(text=f"повестка {i}", date=day(i)) for i in range(10)])
    found = await search_posts(store, query_target("повестка"), budget=3, clock=TickingClock(),
                               lemmatize=lower_words)
    assert found.stopped_after == 3
    assert [p["excerpt"] for p in found.posts] == ["повестка 9", "повестка 8"]  # checked at t=1, t=2


async def test_a_search_within_its_budget_says_nothing_about_stopping(store):
    await add_posts(store, [make_post(text="повестка")])
    found = await search_posts(store, query_target("повестка"), budget=1000, clock=TickingClock(),
                               lemmatize=lower_words)
    assert found.stopped_after is None and len(found.posts) == 1


async def test_the_worst_regex_query_is_cut_by_the_budget_and_still_answers(store):
    await add_posts(store, [make_post(text="мобилизация " * 40 + str(i)) for i in range(20)])
    found = await search_posts(store, query_target(WORST, 1), budget=5, clock=TickingClock(),
                               lemmatize=lower_words)
    assert found.stopped_after == 5 and found.posts == []


async def test_a_scope_narrows_search_to_a_window_and_a_channel(store):
    await add_posts(store, [make_post(message_id=1, text="повестка", date=day(8)),
                            make_post(message_id=2, text="повестка", date=day(10)),
                            make_post(message_id=3, text="повестка", date=day(10), channel_id=-1002,
                                      channel="other")])
    target = query_target("повестка")
    window = SearchScope(since=day(9), until=day(11))
    found = await search_posts(store, target, 1, 10, lemmatize=lower_words, scope=window)
    assert sorted(p["link"] for p in found.posts) == ["https://t.me/other/3", "https://t.me/pskovgubernia/2"]
    one_channel = SearchScope(channel_id=-1002)
    found = await search_posts(store, target, 1, 10, lemmatize=lower_words, scope=one_channel, mark=("[", "]"))
    assert [p["excerpt"] for p in found.posts] == ["[повестка]"]


async def every_post_checked(store, target, scope=EVERYTHING) -> list[int]:
    """The full evaluation: every stored post in the scope, newest first, checked whole."""
    ids = await newest_post_ids(store, 10**6, scope.since, scope.until, scope.channel_id)
    rows = await history_posts(store, ids)
    return [i for i in ids if target.spans(rows[i]["text"], rows[i]["channel"], rows[i]["channel_id"])]


async def every_page(store, target, per_page: int, scope=EVERYTHING) -> list[int]:
    found, page = [], 1
    while True:
        result = await search_posts(store, target, page=page, per_page=per_page, budget=None, scope=scope)
        found += [post["id"] for post in result.posts]
        if not result.has_more:
            return found
        page += 1


async def test_pages_read_early_equal_checking_every_post_on_generated_posts(store, monkeypatch):
    """Candidates are read newest first in small chunks (many share a date) and each page stops once
    full; page after page gives exactly what checking every post finds, in the same order."""
    monkeypatch.setattr(search_module, "CHUNK", 7)
    monkeypatch.setattr(search_module, "READ_MAX", 20)
    await add_posts(store, generated_posts(500, seed=7))
    scope = SearchScope(since=NOW - timedelta(days=30), channel_id=-1002)
    for query in GENERATED_QUERIES:
        target = query_target(query)
        assert await every_page(store, target, 25) == await every_post_checked(store, target), query
    assert await every_page(store, query_target(GENERATED_QUERIES[2]), 10, scope) == \
        await every_post_checked(store, query_target(GENERATED_QUERIES[2]), scope)


async def test_a_first_page_reads_only_the_newest_candidates(store, monkeypatch):
    monkeypatch.setattr(search_module, "CHUNK", 10)
    reads = []
    real = search_module.indexed_posts_before

    async def counted(*args, **kwargs):
        found = await real(*args, **kwargs)
        reads.append(len(found))
        return found

    monkeypatch.setattr(search_module, "indexed_posts_before", counted)
    await add_posts(store, [make_post(text=f"повестка номер {i}", date=day(0) + timedelta(minutes=i))
                            for i in range(200)])
    page = await search_posts(store, query_target("повестка"), per_page=5)
    assert [p["id"] for p in page.posts] == (await every_post_checked(store, query_target("повестка")))[:5]
    assert page.has_more and reads == [10]
