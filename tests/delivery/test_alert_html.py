"""bot/delivery/alert_html.py: the alert's HTML is safe, readable and fits Telegram's limit."""
from __future__ import annotations

import html
import re
from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from telethon import types
from telethon.extensions import html as telethon_html

from bot.delivery.alert_html import (
    TELEGRAM_LIMIT, StoryPost, format_alert, format_excerpt, is_silent, visible_length,
)
from bot.delivery.buttons import alert_buttons
from bot.models import Alert, Match, Subscriber
from tests.factories import make_post

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
SUB = Subscriber(id=1, chat_id=42, tz="Europe/Moscow")


def alert_for(text: str, word: str | None = "мобилизац", **post_fields) -> Alert:
    post = make_post(text=text, **post_fields)
    spans = []
    if word:
        spans = [(m.start(), m.end()) for m in re.finditer(word + r"\w*", text)]
    return Alert(outbox_id=1, subscriber=SUB, post=post, matches=(Match("mob", spans=tuple(spans)),))


def parsed(markup: str):
    """What Telegram would show: Telethon's HTML parser gives the text and its entities."""
    return telethon_html.parse(markup)


def test_markup_in_a_post_is_escaped_and_adds_no_entities():
    text = 'мобилизация <b>жирно</b> </a> <a href="https://evil.example">клик</a> & &amp; <i>x</i>'
    shown, entities = parsed(format_alert(alert_for(text), NOW))
    assert shown.endswith(text)  # the post text, shown literally
    body_start = len(shown[: shown.index(text)].encode("utf-16-le")) // 2
    body = [e for e in entities if e.offset >= body_start]
    assert [type(e).__name__ for e in body] == ["MessageEntityBold"]  # only our highlight
    assert body[0].length == len("мобилизация")


def test_every_link_points_to_telegram():
    post_fields = dict(channel='bad"><script>', channel_title='<a href="https://evil">x</a>', link="javascript:alert(1)")
    _, entities = parsed(format_alert(alert_for("мобилизация объявлена", **post_fields), NOW))
    urls = [e.url for e in entities if isinstance(e, types.MessageEntityTextUrl)]
    assert urls and all(u.startswith("https://t.me/") for u in urls)


def test_entity_offsets_count_emoji_as_two_units():
    text = "👍👍 мобилизация"
    shown, entities = parsed(format_alert(alert_for(text), NOW))
    bold = [e for e in entities if isinstance(e, types.MessageEntityBold)][-1]
    units = shown.encode("utf-16-le")
    assert units[bold.offset * 2:(bold.offset + bold.length) * 2].decode("utf-16-le") == "мобилизация"


def test_visible_length_matches_what_telegram_parses():
    markup = format_alert(alert_for("😀 мобилизация & <b>", late=True), NOW)
    shown, _ = parsed(markup)
    assert visible_length(markup) == len(shown.encode("utf-16-le")) // 2


def test_matched_words_are_bold_in_the_excerpt():
    markup = format_alert(alert_for("В Пскове объявили мобилизацию резервистов."), NOW)
    assert "<b>мобилизацию</b>" in markup


def test_header_links_channel_and_post_and_shows_local_time():
    markup = format_alert(alert_for("мобилизация"), NOW)
    assert '<a href="https://t.me/pskovgubernia">Псковская губерния</a>' in markup
    assert re.search(r'<a href="https://t.me/pskovgubernia/\d+">post</a>', markup)
    assert "01.05.2024 12:30 MSK" in markup  # 09:30 UTC in Moscow


def test_rule_titles_are_shown_and_escaped():
    markup = format_alert(alert_for("мобилизация"), NOW, rule_titles={"mob": "Мобилизация <всё>"})
    assert "Мобилизация &lt;всё&gt;" in markup


def test_rule_ids_are_shown_without_titles():
    assert "🔎 mob" in format_alert(alert_for("мобилизация"), NOW)


def test_late_post_says_when_it_was_posted():
    markup = format_alert(alert_for("мобилизация", late=True), NOW)
    assert "late: posted at 01.05.2024 12:30 MSK" in markup


def test_edited_and_deleted_banners():
    alert = alert_for("мобилизация")
    deleted = datetime(2024, 5, 2, 7, 0, tzinfo=timezone.utc)
    markup = format_alert(alert, NOW, edited=True, deleted_at=deleted)
    assert "deleted by the channel at 02.05.2024 10:00 MSK" in markup
    assert "✏️ <b>edited</b>" in markup
    assert "no longer matches" in format_alert(alert, NOW, no_longer_matches=True)


def test_also_in_names_the_other_channels_and_counts_all():
    others = [StoryPost("abcd_news", None, "https://t.me/abcd_news/5"), StoryPost(None, "Газета", None)]
    markup = format_alert(alert_for("мобилизация"), NOW, also_in=others)
    assert '🔁 also in 2 channels: <a href="https://t.me/abcd_news/5">@abcd_news</a>, Газета' in markup


def test_also_in_leaves_out_copies_in_the_same_channel_and_says_one_channel_right():
    same = StoryPost("pskovgubernia", "Псковская губерния", "https://t.me/pskovgubernia/9", channel_id=-1001)
    alone = format_alert(alert_for("мобилизация", channel="pskovgubernia", channel_id=-1001), NOW, also_in=[same])
    assert "also in" not in alone and "posted again in this channel" in alone
    other = StoryPost("abcd_news", None, "https://t.me/abcd_news/5", channel_id=-1002)
    both = format_alert(alert_for("мобилизация", channel="pskovgubernia", channel_id=-1001), NOW,
                        also_in=[same, other])
    assert "also in 1 channel: " in both and "@pskovgubernia</a>" not in both.split("also in")[1]


def test_channel_count_says_channel_for_one_and_channels_for_more():
    from bot.delivery.alert_html import plural

    assert plural(1, "channel") == "1 channel" and plural(2, "channel") == "2 channels"


def test_emoji_count_two_utf16_units():
    assert visible_length("<b>👍</b>&amp;") == 3


def test_ten_thousand_character_post_fits_with_the_match_in_it():
    text = "слово " * 900 + "мобилизация" + " хвост" * 800
    assert len(text) >= 10_000
    markup = format_alert(alert_for(text), NOW)
    assert visible_length(markup) < TELEGRAM_LIMIT
    assert "<b>мобилизация</b>" in markup
    assert "…слово" in markup and "хвост …" in markup


def test_emoji_heavy_post_stays_under_the_limit_in_utf16():
    text = "😀" * 3000 + " мобилизация " + "🇷🇺" * 1500
    markup = format_alert(alert_for(text), NOW, rule_titles={"mob": "😀" * 200})
    assert visible_length(markup) < TELEGRAM_LIMIT
    assert "<b>мобилизация</b>" in markup


def test_many_spans_never_overflow():
    text = " ".join(["мобилизация"] * 2000)
    assert visible_length(format_alert(alert_for(text), NOW)) < TELEGRAM_LIMIT


def test_excerpt_is_cut_at_word_boundaries():
    text = "начало " + "длинноеслово " * 100 + "мобилизация " + "продолжение " * 100
    start = text.index("мобилизация")
    excerpt = format_excerpt(text, [(start, start + 11)], budget=200)
    words = set(html.unescape(re.sub(r"<[^>]+>", "", excerpt)).replace("…", " ").split())
    assert words <= {"длинноеслово", "мобилизация", "продолжение"}


def test_post_without_spans_shows_its_beginning():
    excerpt = format_excerpt("первое слово " * 200, [], budget=100)
    assert excerpt.startswith("первое слово") and excerpt.endswith("…")


def test_buttons_carry_compact_callback_data():
    rows = alert_buttons(123456789, ["mobilization"])
    data = [b.data for row in rows for b in row]
    assert data == ["fb:+:123456789:mobilization", "fb:-:123456789:mobilization", "mute:mobilization"]
    assert all(len(d.encode()) <= 64 for d in data)


def test_buttons_for_several_rules_use_a_star_and_one_mute_each():
    data = [b.data for row in alert_buttons(7, ["a", "b"]) for b in row]
    assert data == ["fb:+:7:*", "fb:-:7:*", "mute:a", "mute:b"]


def test_overlong_rule_id_gets_no_mute_button_and_a_star():
    data = [b.data for row in alert_buttons(7, ["r" * 70]) for b in row]
    assert data == ["fb:+:7:*", "fb:-:7:*"]


def test_silent_only_when_every_rule_is_low():
    assert is_silent([Match("a", severity="low"), Match("b", severity="low")])
    assert not is_silent([Match("a", severity="low"), Match("b", severity="high")])


def test_also_in_accepts_plain_names():
    markup = format_alert(alert_for("мобилизация"), NOW, also_in=["@abcd_news", "Газета <b>"])
    assert "also in 2 channels: @abcd_news, Газета &lt;b&gt;" in markup


def test_excerpt_starts_at_a_sentence_when_it_can():
    text = "Первое предложение про погоду и дороги. " * 10 + "В Пскове объявили мобилизацию. Конец."
    start = text.index("мобилизацию")
    excerpt = format_excerpt(text, [(start, start + 11)], budget=120)
    assert excerpt.startswith("…Первое предложение") or excerpt.startswith("…В Пскове")


def test_runs_of_blank_lines_collapse():
    excerpt = format_excerpt("мобилизация\n\n\n\n\nконец", [(0, 11)])
    assert excerpt == "<b>мобилизация</b>\n\nконец"


_ALPHABET = st.sampled_from(list("аб вгд<>&\"'/ab\n.!😀🇷🇺\u200b\u00ad") + ["мобилизация", "<b>", "</a>", "&amp;"])


@settings(max_examples=150, deadline=None)
@given(pieces=st.lists(_ALPHABET, max_size=3000), cuts=st.lists(st.integers(0, 20000), max_size=20))
def test_any_text_and_spans_parse_cleanly_under_the_limit(pieces, cuts):
    text = "".join(pieces)
    spans = tuple((a, a + 7) for a in cuts)
    alert = Alert(1, SUB, make_post(text=text), (Match("mob", spans=spans),))
    markup = format_alert(alert, NOW)
    shown, entities = parsed(markup)
    assert visible_length(markup) < TELEGRAM_LIMIT
    assert all(isinstance(e, (types.MessageEntityBold, types.MessageEntityTextUrl)) for e in entities)
