"""The compact alert style: one line per alert, for subscribers who chose `/style compact`.

    ⏱ 12.04 12:30 MSK · Псковская губерния · Mobilization · «повестки, военкомат» · 👁 12.3k · post

Pure, like bot/delivery/alert_html.py (whose full alert is the default): the
time in the subscriber's zone, the channel, the rules, the first matched
words, the views when known and the link, with the same banners as marks in
front (🗑 deleted, ✏️ edited, ⏱ late) and "🔁 +N" for reposts folded in. Every
piece is escaped, cut and flattened to one line (no control or invisible
characters), so odd post text (empty, 4,096+ characters, emoji, HTML-like)
cannot break the markup or the line; the result stays far below Telegram's
4,096 characters.
"""
from __future__ import annotations

from datetime import datetime
from typing import Sequence

from bot.formatting import escape, excerpt, format_time, matched_spans, post_link, shorten
from bot.models import Alert, Match, Post
from bot.delivery.alert_html import views_mark

TIME_PATTERN = "%d.%m %H:%M"
MAX_WORDS = 3  # matched words shown
MAX_WORD = 30  # characters of one matched word or phrase
MAX_RULES = 3
MAX_CHANNEL = 40


def format_compact_alert(
    alert: Alert,
    now: datetime,
    tz: str | None = None,
    *,
    rule_titles: dict[str, str] | None = None,
    also_in: Sequence = (),
    edited: bool = False,
    late: bool = False,
    deleted_at: datetime | None = None,
    no_longer_matches: bool = False,
) -> str:
    """The alert as one HTML line; the arguments mean what they mean for alert_html.format_alert."""
    del now  # the found-at time is for the full style's late banner; one line shows only the post's time
    post = alert.post
    zone = tz or alert.subscriber.tz
    parts = [format_time(post.date, zone, TIME_PATTERN), f"<b>{escape(_flat(_channel_name(post), MAX_CHANNEL))}</b>"]
    rules = _rules(alert.matches, rule_titles or {})
    if rules:
        parts.append(rules)
    words = first_matched_words(post.text, alert.matches)
    if words:
        parts.append("«" + escape(", ".join(words)) + "»")
    if also_in:
        parts.append(f"🔁 +{len(also_in)}")
    line = " · ".join(parts) + views_mark(post)
    link = post_link(post.channel_id, post.message_id, post.channel, post.link)
    if link:
        line += f' · <a href="{escape(link, quote=True)}">post</a>'
    return _marks(alert.edited or edited, late or post.late, deleted_at, no_longer_matches) + line


def first_matched_words(text: str, matches: Sequence[Match], limit: int = MAX_WORDS) -> list[str]:
    """The first `limit` distinct matched words or phrases of the text, each one flat line of at most MAX_WORD."""
    text = text or ""
    words: list[str] = []
    for start, end in matched_spans(matches, len(text)):
        word = _flat(text[start:end], MAX_WORD)
        if word and word.lower() not in (w.lower() for w in words):
            words.append(word)
        if len(words) == limit:
            break
    return words


def _flat(text: str, limit: int) -> str:
    """One line without control or invisible characters, cut to `limit` characters."""
    return shorten(excerpt(text, (), max(len(text), 1), mark=("", "")), limit)


def _channel_name(post: Post) -> str:
    return post.channel_title or (f"@{post.channel}" if post.channel else str(post.channel_id))


def _rules(matches: Sequence[Match], titles: dict[str, str]) -> str:
    names = [escape(_flat(titles.get(m.rule_id) or m.rule_id, MAX_WORD)) for m in matches]
    if len(names) > MAX_RULES:
        names = names[:MAX_RULES] + [f"+{len(names) - MAX_RULES}"]
    return ", ".join(names)


def _marks(edited: bool, late: bool, deleted_at: datetime | None, no_longer: bool) -> str:
    marks = ("🗑" if deleted_at is not None else "") + ("✏️" if edited or no_longer else "") + ("⏱" if late else "")
    if no_longer:
        marks += " no longer matches:"
    return marks + " " if marks else ""
