"""Alert text for Telegram's HTML parse mode: header, rules, excerpt with highlights, buttons.

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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.models import Alert, Button, Match, Post, Span

TELEGRAM_LIMIT = 4096
EXCERPT_CHARS = 700  # visible characters of post text in an alert
CONTEXT_CHARS = 140  # characters of context either side of a match
MAX_ALSO_IN = 10  # channels named in "also in"; the rest are counted
MAX_TITLE = 60
CALLBACK_LIMIT = 64  # bytes, Telegram's limit for callback data
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_POST_LINK = re.compile(r"^https://t\.me/(?:c/\d+|[A-Za-z][A-Za-z0-9_]{3,31})/\d+$")
_TAG = re.compile(r"<[^>]*>")
_SENTENCE_START = re.compile(r"(?:[.!?…]\s+|\n+)(?=\S)")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")
_SENTENCE_END = re.compile(r"[.!?…](?=\s)|\n")


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
    head += [_header(post, zone), _rules_line(alert.matches, rule_titles or {})]
    if also_in:
        head.append(format_also_in(post, [_as_story_post(o) for o in also_in]))
    top = "\n".join(line for line in head if line)
    spans = merge_spans(s for m in alert.matches for s in m.spans)
    budget = EXCERPT_CHARS
    while True:
        body = format_excerpt(post.text, spans, budget)
        text = f"{top}\n\n{body}" if body else top
        if visible_length(text) < TELEGRAM_LIMIT or budget <= 0:
            return text
        budget = budget // 2 if budget > 40 else 0


def alert_buttons(post_id: int, rule_ids: Sequence[str]) -> tuple[tuple[Button, ...], ...]:
    """Feedback and mute buttons; callback data stays under 64 bytes.

    fb:+:<post_id>:<rule> / fb:-:<post_id>:<rule>, where <rule> is "*" for
    every rule of the alert when there are several (or the id is too long);
    mute:<rule> mutes that rule for a day for this chat (long ids get no button).
    """
    rule = rule_ids[0] if len(rule_ids) == 1 else "*"
    if len(f"fb:+:{post_id}:{rule}".encode()) > CALLBACK_LIMIT:
        rule = "*"
    rows = [(Button("👍 relevant", f"fb:+:{post_id}:{rule}"), Button("👎 not relevant", f"fb:-:{post_id}:{rule}"))]
    mutes = tuple(
        Button(f"🔕 mute {_short(r, 20)} 1 day" if len(rule_ids) > 1 else "🔕 mute rule 1 day", f"mute:{r}")
        for r in rule_ids[:3]
        if len(f"mute:{r}".encode()) <= CALLBACK_LIMIT
    )
    if mutes:
        rows.append(mutes)
    return tuple(rows)


def is_silent(matches: Iterable[Match]) -> bool:
    """True when every matched rule is low severity (no notification sound)."""
    severities = [m.severity for m in matches]
    return bool(severities) and all(s == "low" for s in severities)


def visible_length(html_text: str) -> int:
    """Length Telegram counts: UTF-16 code units of the text after parsing the markup."""
    plain = html.unescape(_TAG.sub("", html_text))
    return len(plain.encode("utf-16-le")) // 2


def format_time(moment: datetime, tz: str) -> str:
    """'12.04.2022 12:30 MSK' in the given zone (UTC if the zone is unknown)."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = moment.astimezone(zone)
    return f"{local:%d.%m.%Y %H:%M} {local.tzname()}"


def format_also_in(post: Post, others: Sequence[StoryPost]) -> str:
    """'also in: @a, @b (3 channels)': only other channels are named; the count includes the first post's.

    Copies in the first post's own channel are not named; when there are only
    such copies the line says the channel posted it again.
    """
    elsewhere: dict[object, StoryPost] = {}
    for other in others:
        if _same_channel(post, other):
            continue
        key = other.channel_id if other.channel_id is not None else _name_key(other.channel, other.title, other.link)
        if key not in elsewhere or elsewhere[key].deleted:
            elsewhere[key] = other
    if not elsewhere:
        return "🔁 posted again in this channel"
    shown = list(elsewhere.values())
    names = [_story_name(o) for o in shown[:MAX_ALSO_IN]]
    if len(shown) > MAX_ALSO_IN:
        names.append(f"+{len(shown) - MAX_ALSO_IN} more")
    return f"🔁 also in: {', '.join(names)} ({plural(len(shown) + 1, 'channel')})"


def plural(count: int, noun: str) -> str:
    """'1 channel', '2 channels'."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _same_channel(post: Post, other: StoryPost) -> bool:
    if other.channel_id is not None:
        return other.channel_id == post.channel_id
    return _name_key(other.channel, other.title, other.link) == _name_key(post.channel, post.channel_title, None)


def _name_key(username: str | None, title: str | None, link: str | None) -> str:
    return (username or "").lower() or title or link or ""


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Sorted, non-overlapping spans (touching ones joined)."""
    merged: list[list[int]] = []
    for start, end in sorted((int(s), int(e)) for s, e in spans if e > s):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def format_excerpt(text: str, spans: Sequence[Span], budget: int = EXCERPT_CHARS) -> str:
    """Escaped excerpt around the spans, matched words in <b>, cut at word boundaries with '…'."""
    text = text or ""
    spans = merge_spans((max(0, s), min(len(text), e)) for s, e in spans if s < len(text))
    if budget <= 0 or not text.strip():
        return ""
    if len(text) <= budget:
        windows = [(0, len(text))]
    else:
        windows = _windows(text, spans, budget)
    parts = []
    for start, end in windows:
        piece = _highlight(text, start, end, spans)
        parts.append(("…" if start > 0 else "") + piece.strip() + (" …" if end < len(text) else ""))
    return _BLANK_LINES.sub("\n\n", "\n".join(parts)).strip()


def _windows(text: str, spans: Sequence[Span], budget: int) -> list[Span]:
    """Windows of context around the first spans within `budget` characters, cut at sentences or words."""
    if not spans:
        return [(0, _cut_end(text, 0, budget, 0))]
    context = min(CONTEXT_CHARS, max(20, budget // 4))
    wanted: list[list[int]] = []  # [lo, hi, first span start, last span end]
    for s, e in spans:
        lo, hi = max(0, s - context), min(len(text), e + context)
        if wanted and lo <= wanted[-1][1]:
            wanted[-1][1], wanted[-1][3] = hi, e
        else:
            wanted.append([lo, hi, s, e])
    windows, used = [], 0
    for lo, hi, first, last in wanted:
        room = budget - used
        if room < 20:
            break
        start = _cut_start(text, lo, first)
        end = _cut_end(text, start, min(hi, start + room), min(last, start + room))
        windows.append((start, end))
        used += end - start
    return windows


def _cut_start(text: str, start: int, first: int) -> int:
    """Move `start` forward to a sentence or line start before `first`, else past a partial word."""
    if start <= 0:
        return 0
    boundary = _SENTENCE_START.search(text, start, first)
    if boundary:
        return boundary.end()
    if text[start - 1].isspace():
        return start
    space = re.compile(r"\s+").search(text, start, first)
    return space.end() if space else start


def _cut_end(text: str, start: int, hi: int, last: int) -> int:
    """End at or before `hi` and not before `last`: a sentence end if any, else a word end."""
    if hi >= len(text):
        return len(text)
    ends = [m.end() for m in _SENTENCE_END.finditer(text, last, hi)]
    if ends:
        return ends[-1]
    if text[hi].isspace():
        return hi
    cut = max(text.rfind(" ", last, hi), text.rfind("\n", last, hi))
    return cut if cut > start else hi


def _highlight(text: str, start: int, end: int, spans: Sequence[Span]) -> str:
    out, pos = [], start
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        out.append(_esc(text[pos:s]))
        out.append(f"<b>{_esc(text[s:e])}</b>")
        pos = e
    out.append(_esc(text[pos:end]))
    return "".join(out)


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
    title = _esc(_short(post.channel_title or (f"@{post.channel}" if post.channel else str(post.channel_id)), 80))
    if post.channel and _USERNAME.match(post.channel):
        title = f'<a href="https://t.me/{post.channel}">{title}</a>'
    link = post_link(post)
    when = format_time(post.date, tz)
    if link:
        return f'📣 <b>{title}</b> · <a href="{html.escape(link)}">post</a> · {when}'
    return f"📣 <b>{title}</b> · {when}"


def _rules_line(matches: Sequence[Match], titles: dict[str, str]) -> str:
    names = [_esc(_short(titles.get(m.rule_id) or m.rule_id, MAX_TITLE)) for m in matches]
    return f"🔎 {', '.join(names)}" if names else ""


def post_link(post: Post) -> str | None:
    """A safe https://t.me link to the post, or None."""
    if post.link and _POST_LINK.match(post.link):
        return post.link
    if post.channel and _USERNAME.match(post.channel):
        return f"https://t.me/{post.channel}/{post.message_id}"
    marked = str(post.channel_id)
    if marked.startswith("-100"):
        return f"https://t.me/c/{marked[4:]}/{post.message_id}"
    return None


def _as_story_post(other: StoryPost | str) -> StoryPost:
    if isinstance(other, StoryPost):
        return other
    name = other.lstrip("@")
    return StoryPost(name, None, None) if _USERNAME.match(name) else StoryPost(None, other, None)


def _story_name(other: StoryPost) -> str:
    name = f"@{other.channel}" if other.channel else (other.title or "a channel")
    name = _esc(_short(name, 40))
    if other.link and _POST_LINK.match(other.link):
        name = f'<a href="{html.escape(other.link)}">{name}</a>'
    return f"{name} (deleted)" if other.deleted else name


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _esc(text: str) -> str:
    return html.escape(text, quote=False)
