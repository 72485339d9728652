"""The daily digest, pure: data for a period in, a Digest and its text/HTML out.

No I/O and no clock: callers pass the rows (bot/storage/digests.py loads
them) and `now`. A "topic" is a rule's tag; a rule without tags is its own
topic. Totals count posts; rule and topic lines count posts per rule/topic.
"""
from __future__ import annotations

import html
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

DAY = timedelta(days=1)
HISTORY_DAYS = 14
MESSAGE_LIMIT = 4096
SAFE_LIMIT = 4000  # leave room under Telegram's 4,096 for entities and our own slack
EXCERPT_CHARS = 160
TOP_STORIES = 10
TOP_CHANNELS = 5


@dataclass(frozen=True, slots=True)
class PostRow:
    id: int
    channel_id: int
    message_id: int
    date: datetime
    text: str
    link: str | None = None
    channel: str | None = None  # username
    channel_title: str | None = None
    fwd_from_channel_id: int | None = None
    fwd_from_message_id: int | None = None
    deleted_at: datetime | None = None
    views: int | None = None

    @property
    def channel_name(self) -> str:
        return self.channel_title or (f"@{self.channel}" if self.channel else str(self.channel_id))


@dataclass(frozen=True, slots=True)
class MatchRow:
    post_id: int
    rule_id: str
    tags: tuple[str, ...]
    date: datetime  # the post's date


@dataclass(frozen=True, slots=True)
class DigestData:
    start: datetime
    end: datetime
    posts_read: int
    posts: tuple[PostRow, ...]  # matched posts dated in [start, end)
    matches: tuple[MatchRow, ...]  # their matches
    history: tuple[MatchRow, ...]  # matches of posts dated in [end - 14 days, end)
    deleted: tuple[PostRow, ...] = ()  # alerted posts deleted in [start, end)
    rule_titles: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CountLine:
    key: str
    label: str
    count: int
    previous: int | None = None  # the day before (daily digests only)
    average: float | None = None  # mean of the 7 days before


@dataclass(frozen=True, slots=True)
class Story:
    posts: tuple[PostRow, ...]  # first is the earliest
    rules: tuple[str, ...]

    @property
    def first(self) -> PostRow:
        return self.posts[0]

    @property
    def channel_count(self) -> int:
        return len({p.channel_id for p in self.posts})

    @property
    def views(self) -> int:
        return sum(p.views or 0 for p in self.posts)


@dataclass(frozen=True, slots=True)
class Digest:
    start: datetime
    end: datetime
    tz: str
    posts_read: int
    posts_matched: int
    rules: tuple[CountLine, ...]
    topics: tuple[CountLine, ...]
    channels: tuple[tuple[str, int], ...]
    stories: tuple[Story, ...]
    story_count: int
    deleted: tuple[PostRow, ...]
    days: tuple[tuple[date, int], ...]  # matched posts per local day (multi-day periods)
    chart_days: tuple[date, ...]  # local end dates of the 14 windows, oldest first
    chart_series: dict[str, tuple[int, ...]]  # topic -> matched posts per window

    @property
    def empty(self) -> bool:
        return self.posts_matched == 0 and not self.deleted


def topics_of(rule_id: str, tags: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(tags) if tags else (rule_id,)


def build_digest(data: DigestData, now: datetime, tz: str, similarity: float = 0.6) -> Digest:
    """Turn the period's rows into a Digest. `now` is accepted for symmetry and future use."""
    del now  # the data already fixes the period; kept in the signature so callers pass time in
    zone = ZoneInfo(tz)
    daily = data.end - data.start == DAY
    windows = _window_counts(data.history, data.end)
    rules = _count_lines(_posts_per(data.matches, lambda m: (m.rule_id,)), windows["rule"], daily,
                         data.rule_titles)
    topics = _count_lines(_posts_per(data.matches, lambda m: topics_of(m.rule_id, m.tags)),
                          windows["topic"], daily, {})
    matched_ids = {m.post_id for m in data.matches}
    posts = [p for p in data.posts if p.id in matched_ids]
    channels = Counter(p.channel_name for p in posts).most_common(TOP_CHANNELS)
    stories = group_stories(posts, data.matches, data.rule_titles, similarity)
    days = Counter(p.date.astimezone(zone).date() for p in posts)
    chart_days = tuple((data.end - k * DAY).astimezone(zone).date() for k in range(HISTORY_DAYS - 1, -1, -1))
    series = {t: tuple(windows["topic"][t].get(k, 0) for k in range(HISTORY_DAYS - 1, -1, -1))
              for t in sorted(windows["topic"])}
    return Digest(
        start=data.start, end=data.end, tz=tz, posts_read=data.posts_read,
        posts_matched=len(posts), rules=rules, topics=topics, channels=tuple(channels),
        stories=tuple(stories[:TOP_STORIES]), story_count=len(stories),
        deleted=tuple(sorted(data.deleted, key=lambda p: p.deleted_at or p.date)),
        days=tuple(sorted(days.items())) if data.end - data.start > DAY and len(days) > 1 else (),
        chart_days=chart_days, chart_series=series,
    )


def _posts_per(matches, keys_of) -> dict[str, set[int]]:
    posts: dict[str, set[int]] = defaultdict(set)
    for m in matches:
        for key in keys_of(m):
            posts[key].add(m.post_id)
    return posts


def _window_counts(history, end: datetime) -> dict[str, dict[str, dict[int, int]]]:
    """Posts per rule and per topic in 24-hour windows counted back from `end` (0 = the last day)."""
    seen: dict[str, dict[str, dict[int, set[int]]]] = {"rule": {}, "topic": {}}
    for m in history:
        k = int((end - m.date) // DAY)
        if not 0 <= k < HISTORY_DAYS:
            continue
        seen["rule"].setdefault(m.rule_id, {}).setdefault(k, set()).add(m.post_id)
        for topic in topics_of(m.rule_id, m.tags):
            seen["topic"].setdefault(topic, {}).setdefault(k, set()).add(m.post_id)
    return {kind: {key: {k: len(ids) for k, ids in per.items()} for key, per in by.items()}
            for kind, by in seen.items()}


def _count_lines(posts: dict[str, set[int]], windows: dict[str, dict[int, int]], daily: bool,
                 titles: dict[str, str]) -> tuple[CountLine, ...]:
    lines = []
    for key, ids in posts.items():
        per = windows.get(key, {})
        lines.append(CountLine(
            key=key, label=titles.get(key) or key, count=len(ids),
            previous=per.get(1, 0) if daily else None,
            average=sum(per.get(k, 0) for k in range(1, 8)) / 7 if daily else None,
        ))
    return tuple(sorted(lines, key=lambda line: (-line.count, line.label)))


# --- stories: forwards and near-identical texts become one line --------------------------

_PUNCT = re.compile(r"[^\w\s]+")
_LINKS = re.compile(r"https?://\S+|t\.me/\S+")


def normalize_text(text: str) -> list[str]:
    """Lower-case words without links, punctuation or extra whitespace."""
    text = _LINKS.sub(" ", text.lower().replace("ё", "е"))
    return _PUNCT.sub(" ", text).split()


def shingles(words: list[str], size: int = 3) -> frozenset:
    if len(words) < size:
        return frozenset((" ".join(words),)) if words else frozenset()
    return frozenset(" ".join(words[i:i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def group_stories(posts, matches, titles: dict[str, str], similarity: float = 0.6) -> list[Story]:
    """Group forwards with their originals and near-identical texts.

    Ranked by channels, then posts, views and rules matched; ties in time order.
    """
    ordered = sorted(posts, key=lambda p: (p.date, p.id))
    parent = list(range(len(ordered)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        parent[find(j)] = find(i)

    origin: dict[tuple[int, int], int] = {}
    for i, p in enumerate(ordered):
        origin.setdefault((p.channel_id, p.message_id), i)
    for i, p in enumerate(ordered):
        if p.fwd_from_channel_id is not None and p.fwd_from_message_id is not None:
            key = (p.fwd_from_channel_id, p.fwd_from_message_id)
            union(origin.setdefault(key, i), i)
    sets = [shingles(normalize_text(p.text)) for p in ordered]
    for i, j in _candidate_pairs(sets):
        if find(i) != find(j) and jaccard(sets[i], sets[j]) >= similarity:
            union(i, j)
    groups: dict[int, list[PostRow]] = defaultdict(list)
    for i, p in enumerate(ordered):
        groups[find(i)].append(p)
    rules_of: dict[int, set[str]] = defaultdict(set)
    for m in matches:
        rules_of[m.post_id].add(m.rule_id)
    stories = []
    for members in groups.values():
        rule_ids = sorted({r for p in members for r in rules_of[p.id]})
        stories.append(Story(posts=tuple(members), rules=tuple(titles.get(r) or r for r in rule_ids)))
    return sorted(stories, key=lambda s: (-s.channel_count, -len(s.posts), -s.views, -len(s.rules),
                                          s.first.date, s.first.id))


def _candidate_pairs(sets: list[frozenset], common: int = 50) -> list[tuple[int, int]]:
    """Pairs of posts sharing a shingle (an inverted index instead of comparing every pair).

    Shingles found in more than `common` posts (channel boilerplate) do not make pairs alone;
    near-identical texts share many rarer shingles as well.
    """
    index: dict[str, list[int]] = defaultdict(list)
    for i, grams in enumerate(sets):
        for gram in grams:
            index[gram].append(i)
    pairs: set[tuple[int, int]] = set()
    for members in index.values():
        if 1 < len(members) <= common:
            pairs.update((a, b) for n, a in enumerate(members) for b in members[n + 1:])
    return sorted(pairs)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """One line of text, cut at a word boundary with an ellipsis when longer than `limit`."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:—-") + "…"


# --- rendering --------------------------------------------------------------------------------

def render_text(digest: Digest) -> str:
    """Plain text for a terminal (no HTML)."""
    return "\n".join(_lines(digest, _plain))


def render_html(digest: Digest, limit: int = SAFE_LIMIT) -> list[str]:
    """Telegram HTML, every text escaped, split at line boundaries into messages under `limit`."""
    return split_message("\n".join(_lines(digest, _markup)), limit)


def split_message(text: str, limit: int = SAFE_LIMIT) -> list[str]:
    """Split at line boundaries so each part is at most `limit` characters."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # a single overlong line: cut it at a space
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:cut])
            line = line[cut:].lstrip()
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        parts.append(current)
    return [p.strip("\n") for p in parts if p.strip()]


class _plain:
    @staticmethod
    def bold(text: str) -> str:
        return text

    @staticmethod
    def text(text: str) -> str:
        return text

    @staticmethod
    def link(label: str, url: str | None) -> str:
        return f"{label} {url}" if url else label


class _markup:
    @staticmethod
    def bold(text: str) -> str:
        return f"<b>{html.escape(text)}</b>"

    @staticmethod
    def text(text: str) -> str:
        return html.escape(text)

    @staticmethod
    def link(label: str, url: str | None) -> str:
        if not url:
            return html.escape(label)
        return f'{html.escape(label)} <a href="{html.escape(url, quote=True)}">→</a>'


def _period_label(digest: Digest) -> str:
    zone = ZoneInfo(digest.tz)
    start, end = digest.start.astimezone(zone), digest.end.astimezone(zone)
    return f"{start:%d.%m.%Y %H:%M} – {end:%d.%m.%Y %H:%M} ({digest.tz})"


def _lines(digest: Digest, fmt) -> list[str]:
    title = f"Dozor digest, {_period_label(digest)}"
    if digest.empty:
        return [fmt.bold(title) + fmt.text(f": no matches among {digest.posts_read} posts read.")]
    lines = [fmt.bold(title),
             fmt.text(f"Posts read: {digest.posts_read}; matched: {digest.posts_matched}.")]
    lines += _count_section("By topic", digest.topics, fmt)
    lines += _count_section("By rule", digest.rules, fmt)
    if digest.days:
        lines += ["", fmt.bold("By day")]
        lines += [fmt.text(f"{day:%d.%m.%Y}: {count}") for day, count in digest.days]
    if digest.channels:
        lines += ["", fmt.bold("Channels that reported most")]
        lines += [fmt.text(f"{name}: {count}") for name, count in digest.channels]
    lines += _story_section(digest, fmt)
    if digest.deleted:
        lines += ["", fmt.bold("Deleted after the alert")]
        for post in digest.deleted:
            when = f" (deleted {post.deleted_at.astimezone(ZoneInfo(digest.tz)):%d.%m %H:%M})" if post.deleted_at else ""
            lines.append(fmt.link(f"{post.channel_name}: {excerpt(post.text)}{when}", post.link))
    return lines


def _count_section(heading: str, lines: tuple[CountLine, ...], fmt) -> list[str]:
    if not lines:
        return []
    out = ["", fmt.bold(heading)]
    for line in lines:
        text = f"{line.label}: {line.count}"
        if line.previous is not None:
            text += f" ({_signed(line.count - line.previous)} vs day before, 7-day avg {line.average:.1f})"
        out.append(fmt.text(text))
    return out


def _signed(delta: int) -> str:
    return f"+{delta}" if delta > 0 else ("±0" if delta == 0 else str(delta))


def _story_section(digest: Digest, fmt) -> list[str]:
    if not digest.stories:
        return []
    heading = "Top stories"
    if digest.story_count > len(digest.stories):
        heading += f" ({len(digest.stories)} of {digest.story_count})"
    out = ["", fmt.bold(heading)]
    for n, story in enumerate(digest.stories, 1):
        where = story.first.channel_name
        if story.channel_count > 1:
            where += f" + {story.channel_count - 1} more, {story.channel_count} channels"
        rules = f" [{', '.join(story.rules)}]" if story.rules else ""
        out.append(fmt.link(f"{n}. {excerpt(story.first.text)} ({where}){rules}", story.first.link))
    return out
