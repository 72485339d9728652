"""Alert text for Telegram's HTML parse mode: header, rules, excerpt with highlights
(its buttons: bot/delivery/buttons.py).

Pure: `now` and the subscriber's time zone are arguments. Every piece of post
text and every title is escaped, so a post cannot change the markup; the only
links are ones built here from a validated username or a t.me post link.
Telegram measures messages in UTF-16 code units of the visible text
(`visible_length`); `format_alert` keeps the whole message under 4,096.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence

from bot.formatting import (
    POST_LINK, USERNAME, also_in_text, author_label, channel_link, compact_count, escape, excerpt, format_time, matched_spans,
    post_link, shorten,
)
from bot.formatting import plural  # noqa: F401  (its older home; callers may import it from here)
from bot.models import Alert, Match, Post, Span
from bot.stories import other_channels

TELEGRAM_LIMIT = 4096
EXCERPT_CHARS = 700  # visible characters of post text in an alert
MAX_TITLE = 60
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True, slots=True)
class StoryPost:
    """Another channel's copy of the story, named in "also in"."""

    channel: str | None  # username without @
    title: str | None
    link: str | None
    deleted: bool = False  # the channel deleted this copy
    channel_id: int | None = None  # when known, what tells channels apart


def format_alert(
    alert: Alert,
    now: datetime,
    tz: str | None = None,
    *,
    rule_titles: dict[str, str] | None = None,
    also_in: Sequence[StoryPost | str] = (),
    edited: bool = False,
    late: bool = False,
    deleted_at: datetime | None = None,
    no_longer_matches: bool = False,
) -> str:
    """The alert's HTML: banners, header, rules, also-in line, excerpt; under 4,096 visible units.

    `now` is when the post was found (shown for late posts); `tz` defaults to the
    subscriber's; `also_in` items are StoryPost or plain usernames/titles.
    """
    post = alert.post
    zone = tz or alert.subscriber.tz
    late = late or post.late
    head = _banners(post, alert.edited or edited, deleted_at, no_longer_matches, late, zone, now)
    head += [_header(post, zone), _author_line(post), _rules_line(alert.matches, rule_titles or {})]
    if also_in:
        head.append(format_also_in(post, [_as_story_post(o) for o in also_in]))
    top = "\n".join(line for line in head if line)
    spans = matched_spans(alert.matches)
    budget = EXCERPT_CHARS
    while True:
        body = format_excerpt(post.text, spans, budget)
        text = f"{top}\n\n{body}" if body else top
        if visible_length(text) < TELEGRAM_LIMIT or budget <= 0:
            return text
        budget = budget // 2 if budget > 40 else 0


def is_silent(matches: Iterable[Match]) -> bool:
    """True when every matched rule is low severity (no notification sound)."""
    severities = [m.severity for m in matches]
    return bool(severities) and all(s == "low" for s in severities)


def visible_length(html_text: str) -> int:
    """Length Telegram counts: UTF-16 code units of the text after parsing the markup."""
    plain = html.unescape(_TAG.sub("", html_text))
    return len(plain.encode("utf-16-le")) // 2


def format_also_in(post: Post, others: Sequence[StoryPost]) -> str:
    """'🔁 also in 2 channels: @a, @b': the other channels carrying the story (bot.stories.other_channels),
    linked to their copies; copies in the first post's own channel are not named (only such copies:
    the channel posted it again)."""
    return also_in_text([_story_name(o) for o in other_channels(post, others)])


def format_excerpt(text: str, spans: Sequence[Span], budget: int = EXCERPT_CHARS) -> str:
    """Escaped excerpt around the spans, matched words in <b>, cut at word boundaries with '…'."""
    return excerpt(text, spans, budget, mark=("<b>", "</b>"), ellipsis=("…", " …"), escape_text=escape,
                   one_line=False)


def _banners(post: Post, edited: bool, deleted_at, no_longer: bool, late: bool, tz: str, now: datetime) -> list[str]:
    lines = []
    if deleted_at is not None:
        lines.append(f"🗑 <b>deleted by the channel at {format_time(deleted_at, tz)}</b>")
    if no_longer:
        lines.append("✏️ <b>edited: no longer matches</b>")
    elif edited:
        lines.append("✏️ <b>edited</b>")
    if late:
        lines.append(f"⏱ late: posted at {format_time(post.date, tz)}, found at {format_time(now, tz)}")
    return lines


def _header(post: Post, tz: str) -> str:
    title = escape(shorten(post.channel_title or (f"@{post.channel}" if post.channel else str(post.channel_id)), 80))
    channel = channel_link(post.channel)
    if channel:
        title = f'<a href="{channel}">{title}</a>'
    link = post_link(post.channel_id, post.message_id, post.channel, post.link)
    when = format_time(post.date, tz) + views_mark(post)
    noun = "message" if post.author_id is not None else "post"
    if link:
        return f'📣 <b>{title}</b> · <a href="{escape(link, quote=True)}">{noun}</a> · {when}'
    return f"📣 <b>{title}</b> · {when}"


def views_mark(post: Post) -> str:
    """' · 👁 12.3k' when the post's views are known, else ''."""
    return f" · 👁 {compact_count(post.views)}" if post.views is not None else ""


def _author_line(post: Post) -> str:
    """A group member's message: '👤 a member' (or the name, when the group's show_authors is on)."""
    label = author_label(post.author_id, post.author_name)
    return f"👤 {escape(label)}" if label else ""


def _rules_line(matches: Sequence[Match], titles: dict[str, str]) -> str:
    names = [escape(shorten(titles.get(m.rule_id) or m.rule_id, MAX_TITLE)) for m in matches]
    return f"🔎 {', '.join(names)}" if names else ""


def _as_story_post(other: StoryPost | str) -> StoryPost:
    if isinstance(other, StoryPost):
        return other
    name = other.lstrip("@")
    return StoryPost(name, None, None) if USERNAME.match(name) else StoryPost(None, other, None)


def _story_name(other: StoryPost) -> str:
    name = f"@{other.channel}" if other.channel else (other.title or "a channel")
    name = escape(shorten(name, 40))
    if other.link and POST_LINK.match(other.link):
        name = f'<a href="{escape(other.link, quote=True)}">{name}</a>'
    return f"{name} (deleted)" if other.deleted else name
