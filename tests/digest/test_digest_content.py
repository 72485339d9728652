"""Digest content from a small fixed data set: counts, comparison, stories, deletions, splitting."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.digest.build import build_digest
from bot.digest.render import render_html, render_text, split_message
from bot.formatting import excerpt
from bot.digest.jobs import digest_text_for_period
from bot.storage.digests import load_digest_data



def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


END = utc(2024, 5, 10, 6)  # 09:00 in Moscow
START = END - timedelta(days=1)


async def digest_of(store, subscriber_id=None, start=START, end=END):
    data = await load_digest_data(store, start, end, subscriber_id)
    return build_digest(data, end, "Europe/Moscow")


async def test_totals_count_posts_read_and_matched(store, rows):
    await rows.post(START + timedelta(hours=1), "погода")
    await rows.matched_post(START + timedelta(hours=2), text="мобилизация в Пскове")
    await rows.matched_post(START + timedelta(hours=3), text="повестки раздают у метро")
    await rows.matched_post(START - timedelta(hours=1), text="вчерашнее")  # before the period
    digest = await digest_of(store)
    assert (digest.posts_read, digest.posts_matched) == (3, 2)


async def test_post_matched_by_two_rules_counts_once_in_total_and_once_per_rule(store, rows):
    post_id = await rows.matched_post(START + timedelta(hours=1), "mob", ("mobilization",))
    await rows.match(post_id, "refuse", ("refusal",))
    digest = await digest_of(store)
    assert digest.posts_matched == 1
    assert {line.key: line.count for line in digest.rules} == {"mob": 1, "refuse": 1}
    assert {line.key: line.count for line in digest.topics} == {"mobilization": 1, "refusal": 1}


async def test_topic_counts_a_post_once_when_two_rules_share_its_tag(store, rows):
    post_id = await rows.matched_post(START + timedelta(hours=1), "mob", ("mobilization",))
    await rows.match(post_id, "summons", ("mobilization",))
    digest = await digest_of(store)
    assert {line.key: line.count for line in digest.topics} == {"mobilization": 1}


async def test_rule_without_tags_is_its_own_topic(store, rows):
    await rows.matched_post(START + timedelta(hours=1), "desert", ())
    digest = await digest_of(store)
    assert [line.key for line in digest.topics] == ["desert"]


async def test_rule_lines_use_rule_titles(store, rows):
    await rows.rule("mob", "Мобилизация", ("mobilization",))
    await rows.matched_post(START + timedelta(hours=1), "mob")
    digest = await digest_of(store)
    assert digest.rules[0].label == "Мобилизация"


async def test_comparison_with_day_before_and_seven_day_average(store, rows):
    for n in range(3):  # today: 3
        await rows.matched_post(START + timedelta(hours=n + 1))
    await rows.matched_post(START - timedelta(hours=2))  # day before: 1
    for days_back in range(2, 8):  # 6 more days with one post each (day -2 … day -7)
        await rows.matched_post(START - timedelta(days=days_back - 1, hours=2))
    await rows.matched_post(START - timedelta(days=8, hours=2))  # day -9: outside the average
    line = (await digest_of(store)).topics[0]
    assert (line.count, line.previous, line.average) == (3, 1, 1.0)
    assert "+2 vs day before, 7-day avg 1.0" in render_text(await digest_of(store))


async def test_forward_is_grouped_with_its_original_as_one_story(store, rows):
    await rows.channel(-1001, "pskovgubernia", "Псковская губерния")
    await rows.channel(-1002, "other", "Другой канал")
    await rows.matched_post(START + timedelta(hours=1), text="Оригинал про повестки", channel_id=-1001,
                            message_id=50)
    await rows.matched_post(START + timedelta(hours=2), text="Пересказ", channel_id=-1002,
                            fwd_from=(-1001, 50))
    digest = await digest_of(store)
    assert len(digest.stories) == 1
    assert digest.stories[0].channel_count == 2
    assert "2 channels" in render_text(digest)
    assert digest.stories[0].first.link == "https://t.me/pskovgubernia/50"


async def test_near_identical_texts_are_one_story(store, rows):
    text = "В Пскове мобилизованные отказались ехать на фронт, сообщают родственники солдат"
    await rows.matched_post(START + timedelta(hours=1), text=text, channel_id=-1001)
    await rows.matched_post(START + timedelta(hours=2), text=text.upper() + "!!", channel_id=-1002)
    await rows.matched_post(START + timedelta(hours=3), text="Совсем другая новость о призыве", channel_id=-1003)
    digest = await digest_of(store)
    assert sorted(s.channel_count for s in digest.stories) == [1, 2]


async def test_deleted_post_is_listed_when_it_was_alerted(store, rows):
    sub = await rows.subscriber()
    post_id = await rows.matched_post(START + timedelta(hours=1), text="Пост, который удалили",
                                      deleted_at=START + timedelta(hours=5))
    await rows.alerted(sub.id, post_id)
    digest = await digest_of(store, sub.id)
    assert [p.id for p in digest.deleted] == [post_id]
    assert "Deleted after the alert" in render_text(digest)


async def test_deleted_post_never_alerted_is_not_listed(store, rows):
    sub = await rows.subscriber()
    await rows.matched_post(START + timedelta(hours=1), deleted_at=START + timedelta(hours=5))
    assert (await digest_of(store, sub.id)).deleted == ()


async def test_subscriber_digest_counts_only_subscribed_rules(store, rows):
    sub = await rows.subscriber(subscribe=(("tag", "refusal"),))
    await rows.matched_post(START + timedelta(hours=1), "mob", ("mobilization",))
    await rows.matched_post(START + timedelta(hours=2), "refuse", ("refusal",))
    digest = await digest_of(store, sub.id)
    assert [line.key for line in digest.rules] == ["refuse"]


async def test_empty_day_says_so_in_one_line(store, rows):
    await rows.post(START + timedelta(hours=1), "погода")
    digest = await digest_of(store)
    parts = render_html(digest)
    assert len(parts) == 1 and "\n" not in parts[0]
    assert "no matches among 1 post read" in parts[0]


async def test_html_escapes_post_text(store, rows):
    await rows.matched_post(START + timedelta(hours=1), text="<b>Повестки</b> & ТЦК")
    html_text = "\n".join(render_html(await digest_of(store)))
    assert "&lt;b&gt;Повестки&lt;/b&gt; &amp; ТЦК" in html_text
    assert "<b>Повестки</b>" not in html_text


async def test_many_stories_split_under_telegram_limit_at_line_boundaries():
    text = "\n".join(f"{n}. " + "слово " * 60 for n in range(200))
    parts = split_message(text, 4000)
    assert len(parts) > 1
    assert all(len(part) <= 4000 for part in parts)
    assert "\n".join(parts) == text


def test_overlong_single_line_is_cut_at_a_space():
    parts = split_message("слово " * 2000, 4000)
    assert all(len(part) <= 4000 for part in parts)
    assert all(not part.startswith("лово") for part in parts)


def test_excerpt_is_trimmed_at_a_word_boundary():
    cut = excerpt("мобилизация " * 30, limit=50)
    assert cut.endswith("мобилизация…") and len(cut) <= 51


async def test_period_text_has_per_day_breakdown_when_it_spans_days(store, rows):
    await rows.matched_post(utc(2024, 5, 1, 10))
    await rows.matched_post(utc(2024, 5, 1, 11))
    await rows.matched_post(utc(2024, 5, 3, 10))
    text = await digest_text_for_period(store, utc(2024, 5, 1), utc(2024, 5, 4), "UTC")
    assert "By day" in text and "01.05.2024: 2" in text and "03.05.2024: 1" in text
    assert "matched: 3" in text


async def test_two_forwards_of_an_unseen_original_are_one_story(store, rows):
    await rows.matched_post(START + timedelta(hours=1), text="Первый пересказ", channel_id=-1002, fwd_from=(-1009, 7))
    await rows.matched_post(START + timedelta(hours=2), text="Второй", channel_id=-1003, fwd_from=(-1009, 7))
    digest = await digest_of(store)
    assert [s.channel_count for s in digest.stories] == [2]


async def test_story_told_by_more_channels_ranks_first(store, rows):
    await rows.matched_post(START + timedelta(hours=1), text="Одиночная новость про повестки", channel_id=-1001)
    text = "Мобилизованные из Пскова отказались возвращаться на фронт после ранений"
    await rows.matched_post(START + timedelta(hours=2), text=text, channel_id=-1002)
    await rows.matched_post(START + timedelta(hours=3), text=text, channel_id=-1003)
    digest = await digest_of(store)
    assert digest.stories[0].first.text == text


async def test_daily_digest_has_no_per_day_breakdown_across_midnight(store, rows):
    await rows.matched_post(START + timedelta(hours=1))
    await rows.matched_post(END - timedelta(hours=1))
    assert (await digest_of(store)).days == ()
