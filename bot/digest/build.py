"""The daily digest, pure: data for a period in, a Digest out (bot/digest/render.py makes its text).

No I/O and no clock: callers pass the rows (bot/storage/digests.py loads
them), `now` and the "same story" threshold (DOZOR_DEDUP_THRESHOLD). A
"topic" is a rule's tag; a rule without tags is its own topic. Totals count
posts; rule and topic lines count posts per rule/topic. Stories group posts
by bot/stories.py, the rule alerts use too.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.storage.digests import HISTORY_DAYS, DigestData, PostRow
from bot.stories import DEFAULT_THRESHOLD, group_posts

DAY = timedelta(days=1)
TOP_STORIES = 10
TOP_CHANNELS = 5


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

    @property
    def forwards(self) -> int:
        return sum(p.forwards or 0 for p in self.posts)

    @property
    def reach(self) -> int:
        """How many people the story reached: the views of all its posts (0 when none are known)."""
        return self.views


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
    chart_windows: tuple[tuple[datetime, datetime], ...]  # the 14 windows [start, end) in tz, oldest first
    chart_series: dict[str, tuple[int, ...]]  # topic -> matched posts per window

    @property
    def empty(self) -> bool:
        return self.posts_matched == 0 and not self.deleted


def topics_of(rule_id: str, tags: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(tags) if tags else (rule_id,)


def build_digest(data: DigestData, now: datetime, tz: str, threshold: float = DEFAULT_THRESHOLD) -> Digest:
    """Turn the period's rows into a Digest; `threshold` is the "same story" similarity.

    `now` is accepted for symmetry and future use.
    """
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
    stories = group_stories(posts, data.matches, data.rule_titles, threshold)
    days = Counter(p.date.astimezone(zone).date() for p in posts)
    chart_windows = tuple(((data.end - (k + 1) * DAY).astimezone(zone), (data.end - k * DAY).astimezone(zone))
                          for k in range(HISTORY_DAYS - 1, -1, -1))
    series = {t: tuple(windows["topic"][t].get(k, 0) for k in range(HISTORY_DAYS - 1, -1, -1))
              for t in sorted(windows["topic"])}
    return Digest(
        start=data.start, end=data.end, tz=tz, posts_read=data.posts_read,
        posts_matched=len(posts), rules=rules, topics=topics, channels=tuple(channels),
        stories=tuple(stories[:TOP_STORIES]), story_count=len(stories),
        deleted=tuple(sorted(data.deleted, key=lambda p: p.deleted_at or p.date)),
        days=tuple(sorted(days.items())) if data.end - data.start > DAY and len(days) > 1 else (),
        chart_windows=chart_windows, chart_series=series,
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


# --- stories: forwards and near-identical texts become one line (bot/stories.py's rule) ----------

def group_stories(posts, matches, titles: dict[str, str], threshold: float = DEFAULT_THRESHOLD) -> list[Story]:
    """Group forwards with their originals and near-identical texts (bot/stories.py).

    Ranked by reach (the views of all its posts, refreshed while they are young), then channels,
    posts and rules matched; ties in time order. Without views (a replay) reach ties at 0.
    """
    ordered = sorted(posts, key=lambda p: (p.date, p.id))
    rules_of: dict[int, set[str]] = defaultdict(set)
    for m in matches:
        rules_of[m.post_id].add(m.rule_id)
    stories = []
    for members in group_posts(ordered, threshold):
        rule_ids = sorted({r for p in members for r in rules_of[p.id]})
        stories.append(Story(posts=tuple(members), rules=tuple(titles.get(r) or r for r in rule_ids)))
    return sorted(stories, key=lambda s: (-s.reach, -s.channel_count, -len(s.posts), -len(s.rules),
                                          s.first.date, s.first.id))
