"""Text shown to people, written once: HTML escape, post links, excerpts, times, spans.

Pure: no I/O and no clock; times and zones are arguments. Every alert, digest,
terminal line, backtest and bot reply formats through these functions, so they
cannot drift apart.

- `escape`: text for Telegram's HTML parse mode (`quote=True` inside attributes).
- `post_link`: a safe https://t.me link to a post, or None. Made-up replay ids
  (`-(DERIVED_ID_BASE + crc32)`, bot/sources.py) never get a t.me/c link.
- `excerpt`: one cut rule with parameters (width, highlight marks, ellipses,
  escaping, one line or paragraphs): windows of context around the matched
  spans, started at a sentence or word and ended at a sentence (when that
  keeps at least half the room) or a word.
- `format_time`: a moment in a named zone ("12.04.2022 12:30 MSK"); an
  unknown zone falls back to UTC.
- `merge_spans`: sorted, clipped, non-overlapping spans.
- `also_in_text`: the one "🔁 also in 3 channels: @a, @b, @c" line of a story's
  other channels (Telegram alerts, the terminal, the JSONL file).
- `compact_count`: a view or forward count as people read it ("950", "12.3k", "1.2M").
- `author_label`: who wrote a group member's message: "a member" unless a name may be shown.
- `parse_day`: a day as a person types it (today, yesterday, DD.MM.YYYY, YYYY-MM-DD).
- `plural`: "1 line", "2 lines" (every count shown with its noun goes through it).
- `strip_markdown`: the source's own formatting (Telegram markdown: `**bold**`,
  `__italic__`, `~~strike~~`, `||spoiler||`, backticks, `[text](url)`) taken
  out of a post's text, match spans moved with it; `excerpt` calls it first, so
  every sink shows the words without the markers, highlighted by Dozor alone.
"""
from __future__ import annotations

import html
import re
import unicodedata
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Callable, Iterable, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.models import Match, Span

DERIVED_ID_BASE = 9 * 10**12  # made-up channel ids of posts known only by name are -(this + crc32)
USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
POST_LINK = re.compile(r"^https://t\.me/(?:c/\d+|[A-Za-z][A-Za-z0-9_]{3,31})/\d+$")
TIME_PATTERN = "%d.%m.%Y %H:%M"
EXCERPT_CHARS = 320
CONTEXT_CHARS = 140  # characters of context either side of a match
_SENTENCE_START = re.compile(r"(?:[.!?…]\s+|\n+)(?=\S)")
_SENTENCE_END = re.compile(r"[.!?…](?=\s)|\n")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")
_SPACE = re.compile(r"\s+")
MAX_ALSO_IN = 10  # channels named in "also in"; the rest are counted
_GLUED_TRIM = " ,.;:—-"  # dropped before an ellipsis glued to the text ("слово…", not "слово,…")


DAY_FORMATS = "YYYY-MM-DD, DD.MM.YYYY, DD.MM, today or yesterday"
_DOTTED_DAY = re.compile(r"^(\d{1,2})\.(\d{1,2})(?:\.(\d{4}))?$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(text: str, today: date | None = None) -> date:
    """A day as a person types it: YYYY-MM-DD, DD.MM.YYYY, and with `today` also DD.MM (the latest such
    day not after today), today and yesterday. ValueError naming the accepted forms otherwise (the
    CLI, the bot's /digest and the web console all read days through this)."""
    shown = repr((text or "").strip()[:30])
    word = (text or "").strip().lower()
    if today is not None and word in ("today", "yesterday"):
        return today - timedelta(days=word == "yesterday")
    try:
        if _ISO_DAY.match(word):
            return date.fromisoformat(word)
        dotted = _DOTTED_DAY.match(word)
        if dotted and (dotted[3] or today is not None):
            day, month = int(dotted[1]), int(dotted[2])
            return date(int(dotted[3]), month, day) if dotted[3] else _latest_day(day, month, today)
    except ValueError:
        raise ValueError(f"{shown} is no such day: write {DAY_FORMATS}") from None
    raise ValueError(f"{shown} is not a day: write {DAY_FORMATS} (e.g. 2026-11-28 or 28.11.2026)")


def _latest_day(day: int, month: int, today: date) -> date:
    """DD.MM without a year: this year's, or last year's when this year's is still ahead."""
    if (month, day) == (2, 29) or date(today.year, month, day) > today:
        return date(today.year - 1, month, day)
    return date(today.year, month, day)


def plural(count: int, noun: str, many: str | None = None, *, thousands: bool = False) -> str:
    """`count` with its noun in the right number: plural(1, "line") -> "1 line", plural(2, "line") -> "2 lines".

    `many` for an irregular plural ("match", "matches"); `thousands` writes 22,099."""
    shown = f"{count:,}" if thousands else str(count)
    return f"{shown} {noun if count == 1 else (many or noun + 's')}"


def also_in_text(names: Sequence[str], limit: int = MAX_ALSO_IN) -> str:
    """'🔁 also in 2 channels: @a, @b': the names (already escaped or linked if the medium needs it) of
    the other channels that carry the story (bot.stories.other_channels), the first `limit` of them
    named; with none, the story's own channel posted it again."""
    if not names:
        return "🔁 posted again in this channel"
    shown = list(names[:limit]) + ([f"+{len(names) - limit} more"] if len(names) > limit else [])
    return f"🔁 also in {plural(len(names), 'channel')}: {', '.join(shown)}"


def escape(value: object, quote: bool = False) -> str:
    """Text for Telegram HTML; `quote=True` for attribute values (href)."""
    return html.escape(str(value), quote=quote)


# --- links ---------------------------------------------------------------------------------

def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, ending in "…" when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def is_real_channel_id(channel_id: int) -> bool:
    """True for Telegram's marked channel ids (-100…), false for made-up replay ids."""
    return str(channel_id).startswith("-100") and -channel_id < DERIVED_ID_BASE


def channel_link(username: str | None) -> str | None:
    """https://t.me/<username> for a valid username, else None."""
    name = (username or "").lstrip("@")
    return f"https://t.me/{name}" if USERNAME.match(name) else None


def post_link(channel_id: int, message_id: int, username: str | None = None,
              link: str | None = None) -> str | None:
    """A safe https://t.me link to the post: the given link if it is one, else built, else None."""
    if link and POST_LINK.match(link):
        return link
    channel = channel_link(username)
    if channel:
        return f"{channel}/{message_id}"
    if is_real_channel_id(channel_id):
        return f"https://t.me/c/{str(channel_id)[4:]}/{message_id}"
    return None


# --- reach and authors ---------------------------------------------------------------------

def compact_count(count: int) -> str:
    """950 -> '950', 12_345 -> '12.3k', 1_200_000 -> '1.2M' (one decimal, a trailing .0 dropped)."""
    count = max(0, int(count))
    for size, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "k")):
        if count >= size:
            value = f"{count / size:.1f}".removesuffix(".0")
            if value == "1000" and suffix != "B":  # 999,999 rounds up into the next unit
                return compact_count(size * 1000)
            return value + suffix
    return str(count)


def author_label(author_id: int | None, author_name: str | None) -> str | None:
    """'a member' for a group member's message (the name only when one was kept: the group's
    show_authors is on); None for a channel post."""
    if author_id is None and not author_name:
        return None
    name = " ".join((author_name or "").split())
    return shorten(name, 60) if name else "a member"


# --- time ----------------------------------------------------------------------------------

def zone(tz: str | None) -> tzinfo:
    """The named zone, UTC if the name is unknown or empty."""
    try:
        return ZoneInfo(tz) if tz else timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def format_time(moment: datetime, tz: str | None, pattern: str = TIME_PATTERN, with_zone: bool = True) -> str:
    """`moment` in zone `tz` as `pattern`, then the zone's abbreviation: '12.04.2022 12:30 MSK'."""
    local = moment.astimezone(zone(tz))
    text = local.strftime(pattern)
    return f"{text} {local.tzname()}" if with_zone else text


# --- spans ---------------------------------------------------------------------------------

def merge_spans(spans: Iterable[Span], length: int | None = None) -> list[Span]:
    """Sorted, non-overlapping spans (touching ones joined), clipped to [0, length] when given."""
    limit = length if length is not None else float("inf")
    merged: list[list[int]] = []
    for start, end in sorted((max(0, int(s)), int(min(limit, e))) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def matched_spans(matches: Iterable[Match], length: int | None = None) -> list[Span]:
    """Every span of every match, merged (and clipped to the text's length when given)."""
    return merge_spans((span for m in matches for span in m.spans), length)


# --- source markdown ----------------------------------------------------------------------

_MD_LINK = re.compile(r"\[([^\]\n]+)\]\(((?:https?|tg)://[^)\s]+)\)")
_MD_FENCE = re.compile(r"```(?:[A-Za-z0-9_+-]*\n)?(.+?)```", re.S)
_MD_CODE = re.compile(r"`([^`\n]+)`")
_MD_PAIRS = [re.compile(edge + re.escape(m) + r"(?=\S)(.+?)(?<=\S)" + re.escape(m) + tail, re.S)
             for m, edge, tail in (("**", "", ""), ("__", r"(?<!\w)", r"(?!\w)"), ("~~", "", ""), ("||", "", ""))]
# (__ only at word edges: snake_case and __init__ are words, not italics)


def strip_markdown(text: str, spans: Sequence[Span] = ()) -> tuple[str, list[Span]]:
    """The text without the source's markdown markers (a link keeps its text), and `spans`
    (given in `text`) moved to the same words in the result."""
    if not any(marker in text for marker in ("**", "__", "~~", "||", "`", "](")):
        return text, list(spans)
    drop = bytearray(len(text))
    for pattern in (_MD_FENCE, _MD_CODE, _MD_LINK, *_MD_PAIRS):
        for m in pattern.finditer(text):
            if drop[m.start()] or drop[m.end() - 1]:
                continue  # inside code or a link's address, or its markers already taken
            drop[m.start():m.start(1)] = b"\1" * (m.start(1) - m.start())
            drop[m.end(1):m.end()] = b"\1" * (m.end() - m.end(1))
            if pattern in (_MD_FENCE, _MD_CODE):  # nothing inside code is markdown
                drop[m.start(1):m.end(1)] = b"\2" * (m.end(1) - m.start(1))
    kept = [i for i in range(len(text)) if drop[i] != 1]
    if len(kept) == len(text):
        return text, list(spans)
    before = [0] * (len(text) + 1)  # original offset -> offset in the result
    count = 0
    for i in range(len(text)):
        before[i] = count
        count += drop[i] != 1
    before[len(text)] = count
    moved = [(before[a], before[b]) for a, b in spans if 0 <= a <= b <= len(text)]
    return "".join(text[i] for i in kept), [(a, b) for a, b in moved if b > a]


# --- excerpt -------------------------------------------------------------------------------

def excerpt(
    text: str,
    spans: Sequence[Span] = (),
    limit: int = EXCERPT_CHARS,
    *,
    mark: tuple[str, str] = ("**", "**"),
    ellipsis: tuple[str, str] = ("…", "…"),
    escape_text: Callable[[str], str] | None = None,
    one_line: bool = True,
) -> str:
    """About `limit` characters of `text` around the spans, each span wrapped in `mark`.

    Windows of context around the first spans, cut at sentence or word
    boundaries; a cut is shown by `ellipsis` (before, after). `escape_text`
    (e.g. `escape`) is applied to the text, not to the marks. `one_line` flattens
    whitespace and drops control and invisible characters (a terminal, a list
    line); otherwise paragraphs stay, with runs of blank lines cut to one.
    """
    text, spans = strip_markdown(text or "", spans)
    spans = merge_spans(spans, len(text))
    if limit <= 0 or not text.strip():
        return ""
    windows = [(0, len(text))] if len(text) <= limit else _windows(text, spans, limit)
    clean = _drop_invisible if one_line else (lambda piece: piece)
    show = (lambda piece: escape_text(clean(piece))) if escape_text else clean
    parts = []
    for start, end in windows:
        piece = _highlight(text, start, end, spans, mark, show).strip()
        cut_after = end < len(text)
        if cut_after and not ellipsis[1][:1].isspace():
            piece = piece.rstrip(_GLUED_TRIM)
        parts.append((ellipsis[0] if start > 0 else "") + piece + (ellipsis[1] if cut_after else ""))
    if one_line:
        return " ".join(" ".join(parts).split())
    return _BLANK_LINES.sub("\n\n", "\n".join(parts)).strip()


def _drop_invisible(text: str) -> str:
    out = []
    for char in text:
        if char in "\n\r\t":
            out.append(" ")
        elif unicodedata.category(char) in ("Cc", "Cf") and char != "\u200d":  # ZWJ joins emoji
            continue
        else:
            out.append(char)
    return "".join(out)


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
    space = _SPACE.search(text, start, first)
    return space.end() if space else start


def _cut_end(text: str, start: int, hi: int, last: int) -> int:
    """End at or before `hi` and not before `last`: a sentence end keeping half the room, else a word end."""
    if hi >= len(text):
        return len(text)
    half = start + (hi - start) // 2
    ends = [m.end() for m in _SENTENCE_END.finditer(text, last, hi) if m.end() >= half]
    if ends:
        return ends[-1]
    if text[hi].isspace():
        return hi
    cut = max(text.rfind(" ", last, hi), text.rfind("\n", last, hi))
    return cut if cut > start else hi


def _highlight(text: str, start: int, end: int, spans: Sequence[Span], mark: tuple[str, str],
               show: Callable[[str], str]) -> str:
    out, pos = [], start
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        out.append(show(text[pos:s]))
        out.append(mark[0] + show(text[s:e]) + mark[1])
        pos = e
    out.append(show(text[pos:end]))
    return "".join(out)
