"""Rule preview: the same hits as the straightforward backtest, reusing what earlier previews checked."""
import random
from pathlib import Path
from datetime import timedelta

import pytest

from bot.history import preview as preview_module
from bot.history.backtest import candidate_rows, check_rows, query_target, rule_target, run_backtest
from bot.history.clauses import canonical, split_clauses
from bot.history.preview import preview, rule_hits
from bot.models import RuleDef
from bot.rules import compile_query, parse_rules_toml
from bot.storage.posts import find_post_row, record_edit
from tests.factories import add_posts, make_post, utc

ROOT = Path(__file__).resolve().parents[2]

NOW = utc(2024, 6, 1)
START = NOW - timedelta(days=40)
WORDS = ("повестка повестки повестку военкомат военкомата военкомате вручили вручить мобилизация "
         "мобилизованных мобилизовали частичная частичной отказ отказался отказались служить служба фронт "
         "погода в Пскове Твери ТЦК Военкомат мужчин на и не м'ясо сили резервист призыв армию").split()
EXTRAS = ["#повестки", "#мобилизация_2024", "мoбилизация", "по-прежнему", "повест\u00adка", "«частичная мобилизация»"]
QUERIES = [
    "повестка NEAR/3 военкомат",
    '"частичная мобилизация"',
    "мобилиз* -погода",
    "(отказ* OR отказаться) AND NOT фронт",
    "ТЦК OR =Военкомат OR #повестки OR повестка ONEAR/2 вручить OR резервист",
    "/воен\\w+/ OR повестка",  # a regex alternative: the backtest's newest-posts scan
    "NOT погода",
    "#мобилизация_2024 OR (мужчин NEAR/4 (фронт OR армию)) OR м'ясо",
]
RULES = [
    RuleDef("r1", "мобилиз* OR повестка NEAR/5 (вручить OR военкомат)", exclude="погода OR Твери"),
    RuleDef("r2", "отказ* OR призыв", channels_exclude=("tver",), langs=("ru",)),
    RuleDef("r3", "повестка OR ТЦК", exclude="NOT военкомат", channels_include=("pskovgubernia",)),
]


def generated_posts(count: int, seed: int = 15) -> list:
    rng = random.Random(seed)
    posts = []
    for _ in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 14))]
        if rng.random() < 0.15:
            words.insert(rng.randrange(len(words) + 1), rng.choice(EXTRAS))
        channel = rng.choice([("pskovgubernia", -1001000000001), ("tver", -1002), (None, -1003)])
        posts.append(make_post(text=" ".join(words), channel=channel[0], channel_id=channel[1],
                               date=NOW - timedelta(hours=rng.randrange(50 * 24))))
    return posts


def default_rules() -> list[RuleDef]:
    return parse_rules_toml((ROOT / "config" / "rules.toml").read_text(encoding="utf-8"), "rules.toml")


async def straightforward(store, what) -> set[int]:
    """The backtest's own path: lemma-index candidates since START, each checked whole."""
    target = query_target(what) if isinstance(what, str) else rule_target(what)
    rows, _ = await candidate_rows(store, target, START)
    return {row["id"] for _, _, row, _ in check_rows(target, rows)}


@pytest.fixture
async def filled(store):
    await add_posts(store, generated_posts(2500))
    return store


async def test_preview_hits_equal_the_backtest_on_generated_posts(filled):
    for what in QUERIES + RULES + default_rules()[:3]:
        found = await rule_hits(filled, what, START)
        assert set(found.posts) == await straightforward(filled, what), what


async def test_per_day_counts_equal_the_backtest(filled):
    for what in (QUERIES[0], RULES[0]):
        target = query_target(what) if isinstance(what, str) else rule_target(what)
        backtest = await run_backtest(filled, target, NOW, days=40)
        found = await rule_hits(filled, what, START)
        assert found.per_day() == sorted(backtest.per_day) and len(found.posts) == backtest.total


async def test_hits_stay_equal_after_new_and_edited_posts(filled):
    for what in QUERIES + RULES:
        await rule_hits(filled, what, START)  # remembered
    await add_posts(filled, generated_posts(300, seed=16))
    rows = [await find_post_row(filled.conn, -1001000000001, message_id) for message_id in range(1, 4000)]
    edited = [row for row in rows if row is not None][:40]
    for n, row in enumerate(edited):
        text = "повестка из военкомата" if n % 2 else "погода"
        post = make_post(text=text, channel_id=row["channel_id"], message_id=row["message_id"])
        await filled.write(lambda conn, row=row, post=post: record_edit(conn, row, post, NOW))
    for what in QUERIES + RULES:
        found = await rule_hits(filled, what, START)
        assert set(found.posts) == await straightforward(filled, what), what


async def test_range_end_is_exclusive_and_start_inclusive(filled):
    end = NOW - timedelta(days=10)
    found = await rule_hits(filled, QUERIES[0], START, end)
    everything = await rule_hits(filled, QUERIES[0], START)
    assert set(found.posts) == {p for p, date in everything.posts.items() if date < end.isoformat()}


async def test_preview_lists_new_and_lost_hits_against_the_saved_rule(filled):
    saved = RuleDef("r", "повестка NEAR/3 военкомат OR резервист")
    draft = "повестка NEAR/3 военкомат OR ТЦК"
    result = await preview(filled, draft, saved, START, listed=5)
    new, old = await straightforward(filled, draft), await straightforward(filled, saved)
    assert (result.added_total, result.lost_total) == (len(new - old), len(old - new))
    assert set(result.draft.posts) == new and set(result.saved.posts) == old
    assert len(result.added) == 5 and len(result.lost) == 5
    assert {p["id"] for p in result.added} <= new - old and {p["id"] for p in result.lost} <= old - new
    assert [p["date"] for p in result.added] == sorted((p["date"] for p in result.added), reverse=True)
    assert sum(d for _, d, _ in result.days) == len(new) and sum(s for _, _, s in result.days) == len(old)


async def test_preview_of_a_new_rule_has_no_saved_side(filled):
    result = await preview(filled, "резервист", None, START)
    assert result.saved.posts == {} and result.lost == [] and result.added_total == len(result.draft.posts)


async def test_a_second_preview_checks_only_posts_the_changed_clause_may_match(filled, monkeypatch):
    saved = RuleDef("r", "повестка NEAR/3 военкомат OR мобилиз* OR (отказ* -фронт)")
    await preview(filled, saved.query, saved, START)
    analyzed = []
    real = preview_module.analyze
    monkeypatch.setattr(preview_module, "analyze", lambda text: analyzed.append(text) or real(text))
    again = await preview(filled, saved.query, saved, START)
    assert analyzed == [] and again.added_total == again.lost_total == 0
    draft = "повестка NEAR/3 военкомат OR мобилиз* OR (отказ* -фронт) OR резервист"
    result = await preview(filled, draft, saved, START)
    assert set(result.draft.posts) == await straightforward(filled, draft)
    assert 0 < len(analyzed) <= len(await straightforward(filled, "резервист OR повестка OR мобилиз* OR отказ*"))


def test_clauses_are_named_by_their_parsed_form_not_their_spelling():
    one = split_clauses(compile_query("повестка  OR (ТЦК NEAR/2 военкомат)").node)
    two = split_clauses(compile_query("(повестка) | ((ТЦК) NEAR/2 военкомат)").node)
    assert [canonical(n) for n in one] == [canonical(n) for n in two]
    assert canonical(compile_query("=ТЦК").node) != canonical(compile_query("ТЦК").node)
    assert canonical(compile_query("a ONEAR/2 b").node) != canonical(compile_query("a NEAR/2 b").node)


def test_hashtag_queries_skip_texts_without_a_hash_sign_and_find_the_same_posts():
    texts = [p.text for p in generated_posts(600)] + ["мобилизация_2024", "#МОБИЛИЗАЦИЯ_2024 в Пскове"]
    for query, needs in [("#повестки OR #мобилизация_2024", True), ("#повестки NEAR/3 военкомат", True),
                         ("#повестки OR повестка", False), ("NOT #повестки", False)]:
        target = query_target(query)
        rows = [{"text": t, "channel": None, "channel_id": 1, "date": "2024-05-01", "id": n}
                for n, t in enumerate(texts)]
        assert target.needs_hash is needs
        expected = {n for n, t in enumerate(texts) if compile_query(query).matches_text(t)}
        assert {row["id"] for _, _, row, _ in check_rows(target, rows)} == expected


async def test_after_warm_up_previews_of_the_saved_rules_read_no_post(filled):
    rules = RULES + [RuleDef("regex", "/воен\\w+/")]  # a scan-only rule is skipped: nothing of it is kept
    assert await preview_module.warm(filled, rules, START - timedelta(days=10)) == len(RULES)
    warmed = preview_module.posts_read(filled)
    for rule in RULES:
        result = await preview(filled, rule, rule, START)
        assert set(result.draft.posts) == await straightforward(filled, rule) and result.added_total == 0
    assert warmed > 0 and preview_module.posts_read(filled) == warmed
