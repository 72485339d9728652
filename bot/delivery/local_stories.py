"""Stories for local sinks: which story each alert shown in the terminal or a JSONL file belongs to.

The same rule as the Telegram alert sink (bot/delivery/telegram_sink.py),
from bot/stories.py with DOZOR_DEDUP_THRESHOLD and DOZOR_DEDUP_WINDOW_HOURS: a
post that is a forward of, or nearly the same text as, a post already shown
to the same subscriber with a date within the window belongs to that earlier
post's story (the earliest such story). The digest groups by the same rule.

`placement(alert)` also gives the story's number and its copies so far (its
posts after the first), from which the sinks word "also in …" as the Telegram
alert does (bot.stories.other_channels, bot.formatting.also_in_text).

Kept in memory for one run. One instance is shared by the sinks of a run, so
the terminal and the JSONL file agree; asking again about a post already
placed gives the same answer (a retried delivery is not a new story).
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import stories
from bot.models import Alert, Post

PostKey = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an alerted post stands: its story (number, first post) and the story's copies so far."""

    story: int
    first: Post
    copies: tuple[Post, ...]  # the story's posts after the first, in the order they were placed
    is_first: bool  # this alert's post is the story's first


@dataclass(frozen=True, slots=True)
class _Shown:
    date: datetime
    post: Post
    signature: frozenset[int]
    story: int  # the story's sequence number: lower is older
    first: Post  # the story's first post


class LocalStories:
    """Places each alerted post in a story, per subscriber."""

    def __init__(self, threshold: float = stories.DEFAULT_THRESHOLD, window: timedelta = timedelta(hours=24)):
        self.threshold = threshold
        self.window = window
        self._shown: dict[int, list[_Shown]] = {}  # subscriber id -> shown posts, by date
        self._placed: dict[tuple[int, PostKey], _Shown] = {}
        self._copies: dict[int, list[Post]] = {}  # story -> its posts after the first
        self._stories = 0

    @classmethod
    def from_settings(cls, settings) -> LocalStories:
        return cls(float(settings.dedup_threshold), timedelta(hours=settings.dedup_window_hours))

    def place(self, alert: Alert) -> Post | None:
        """The first post of the earlier story this alert's post belongs to; None if it starts a story."""
        placed = self.placement(alert)
        return None if placed.is_first else placed.first

    def placement(self, alert: Alert) -> Placement:
        """The alert's story, placing its post first if it is new (the same answer when asked again)."""
        post, subscriber = alert.post, alert.subscriber.id
        key = (subscriber, (post.channel_id, post.message_id))
        entry = self._placed.get(key) or self._place(subscriber, post, key)
        first = (entry.first.channel_id, entry.first.message_id) == key[1]
        return Placement(entry.story, entry.first, self.copies(entry.story), first)

    def copies(self, story: int) -> tuple[Post, ...]:
        """The story's posts after its first, so far."""
        return tuple(self._copies.get(story, ()))

    def _place(self, subscriber: int, post: Post, key: tuple[int, PostKey]) -> _Shown:
        signature = stories.shingles(post.text)
        shown = self._shown.setdefault(subscriber, [])
        joined = self._earliest_story(shown, post, signature)
        if joined is None:
            self._stories += 1
            entry = _Shown(post.date, post, signature, self._stories, post)
        else:
            entry = _Shown(post.date, post, signature, joined.story, joined.first)
            self._copies.setdefault(joined.story, []).append(post)
        shown.insert(bisect_right(shown, post.date, key=lambda s: s.date), entry)
        self._placed[key] = entry
        return entry

    def _earliest_story(self, shown: list[_Shown], post: Post, signature: frozenset[int]) -> _Shown | None:
        low = bisect_left(shown, post.date - self.window, key=lambda s: s.date)
        high = bisect_right(shown, post.date + self.window, key=lambda s: s.date)
        found = [s for s in shown[low:high] if stories.same_story(
            post, signature, (s.post.channel_id, s.post.message_id),
            (s.post.fwd_from_channel_id, s.post.fwd_from_message_id), s.signature, self.threshold)]
        return min(found, key=lambda s: s.story) if found else None
