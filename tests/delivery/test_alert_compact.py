"""The compact alert style: one line (time with zone, channel, rule, first matched words, link), chosen per
subscriber with /style or the CLI; odd post text never breaks it."""
from __future__ import annotations

import html
import re
from datetime import datetime, timezone

import pytest

from bot.delivery.alert_compact import first_matched_words, format_compact_alert
from bot.delivery.alert_html import TELEGRAM_LIMIT, visible_length
from bot.delivery.telegram_sink import TelegramAlertSink
from bot.models import Alert, AlertStyle, Match, Subscriber
from bot.settings import load_settings
from bot.storage import access
from bot.storage.subscribers import subscriber_by_chat
from tests.commands.cmd_helpers import NOW
from tests.factories import add_rule, add_subscriber, make_post, queue_alert
from tests.fakes import FakeSender

POSTED = datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)
_OUR_TAGS = re.compile(r'</?b>|<a href="[^"<>]*">|</a>')


def compact(text: str, spans=((0, 0),), **post_fields) -> str:
    post = make_post(text=text, date=POSTED, channel="pskovgubernia", channel_title="Псковская губерния",
                     channel_id=-1001234567890, message_id=5012, **post_fields)
    alert = Alert(0, Subscriber(1, 42, style=AlertStyle.COMPACT), post, (Match("mob", spans=tuple(spans)),))
    return format_compact_alert(alert, NOW, "Europe/Moscow", rule_titles={"mob": "Мобилизация"})


def assert_one_safe_line(line: str) -> None:
    assert "\n" not in line and "\r" not in line
    assert visible_length(line) < 500 < TELEGRAM_LIMIT
    assert "<" not in _OUR_TAGS.sub("", line)  # every other < of the post came out escaped


def test_a_compact_alert_is_one_line_with_time_zone_channel_rule_words_and_link():
    text = "В Пскове объявлена мобилизация, повестки раздают у завода"
    line = compact(text, spans=((18, 30), (32, 40)), views=12345)
    assert_one_safe_line(line)
    assert line.startswith("01.05 12:30 MSK · <b>Псковская губерния</b> · Мобилизация")
    assert "«мобилизация, повестки»" in line and "👁 12.3k" in line
    assert line.endswith('<a href="https://t.me/pskovgubernia/5012">post</a>')


@pytest.mark.parametrize("text, spans", [
    ("", ((0, 5),)),  # empty text, spans that point past it
    ("мобилизация " * 500, ((0, 11), (12, 23))),  # over 4,096 characters
    ("🔥🔥 мобилизация 👨‍👩‍👧 " * 300, ((3, 14),)),  # emoji and ZWJ sequences
    ('<a href="https://evil.example">мобилизация</a><b>x</b> &amp; <script>', ((31, 42),)),  # HTML-like
    ("моби\u200bлизация\nна\u00adчалась\u202e\x00", ((0, 20),)),  # invisible and control characters
])
def test_odd_text_gives_one_escaped_line(text, spans):
    line = compact(text, spans=spans)
    assert_one_safe_line(line)
    assert "evil.example" not in _OUR_TAGS.sub("", line) or "&lt;a href" in line
    assert "\u200b" not in line and "\x00" not in line and "\u202e" not in line


def test_html_in_a_channel_title_or_rule_is_escaped():
    post = make_post(text="мобилизация", channel_title="<b>Evil</b>", date=POSTED)
    alert = Alert(0, Subscriber(1, 42), post, (Match("<i>r</i>", spans=((0, 11),)),))
    line = format_compact_alert(alert, NOW, "UTC")
    assert "&lt;b&gt;Evil&lt;/b&gt;" in line and "&lt;i&gt;r&lt;/i&gt;" in line
    assert "<" not in _OUR_TAGS.sub("", line)
    assert "<b>Evil</b> · <i>r</i>" in html.unescape(_OUR_TAGS.sub("", line))


def test_the_first_matched_words_are_distinct_and_at_most_three():
    text = "повестка Повестка отказ мобилизация резерв"
    spans = [(0, 8), (9, 17), (18, 23), (24, 35), (36, 42)]
    assert first_matched_words(text, [Match("r", spans=tuple(spans))]) == ["повестка", "отказ", "мобилизация"]


def test_edited_late_and_deleted_marks_stay_on_the_same_line():
    post = make_post(text="мобилизация", date=POSTED, late=True)
    alert = Alert(0, Subscriber(1, 42), post, (Match("mob", spans=((0, 11),)),), edited=True)
    line = format_compact_alert(alert, NOW, "UTC", deleted_at=NOW)
    assert line.startswith("🗑✏️⏱ ") and "\n" not in line


@pytest.fixture
def settings():
    return load_settings(env={}, env_file=None, config_file=None)


async def test_a_compact_subscriber_gets_one_line_alerts_and_a_full_one_the_whole_alert(store, settings):
    sender = FakeSender()
    sink = TelegramAlertSink(store, sender, settings, clock=lambda: NOW)
    full = await add_subscriber(store, 42)
    await add_subscriber(store, 43)
    await store.write(lambda c: access.update_subscriber(c, 43, "test", NOW, "subscriber.style", alert_style="compact"))
    short = await subscriber_by_chat(store, 43, active_only=True)
    await add_rule(store, "mob", title="Мобилизация")
    post = make_post(text="Объявлена мобилизация.\n\nВторой абзац с подробностями.", message_id=9)
    await sink.deliver(await queue_alert(store, full, post))
    await sink.deliver(await queue_alert(store, short, post))
    whole, line = sender.sent
    assert "\n" in whole.html and "Второй абзац" in whole.html
    assert "\n" not in line.html and "«мобилизация»" in line.html and line.buttons  # buttons stay
