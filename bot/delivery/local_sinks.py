"""Where a delivered alert ends up: the terminal, a JSONL file (Telegram sinks: telegram_sink.py).

A sink is one async method, `deliver(alert) -> message id or None`. The
terminal sink prints channel, time, link, matched rules and an excerpt around
the matched words with those words highlighted (ANSI on a TTY, **word** when not).

Given a LocalStories (bot/delivery/local_stories.py, the "same story" rule of
bot/stories.py), reposts fold into their story's alert with the line the
Telegram alert gets, "🔁 also in 3 channels: @b, @c, @d" (bot.stories.other_channels,
bot.formatting.also_in_text):
- the terminal holds the alerts of one delivery pass until `flush()` (the
  replay flushes after each batch), then prints each story once, its "also in"
  line under the header; a repost of a story printed in an earlier pass is one
  line restating the story's "also in" and naming the new copy;
- the JSONL file gets one line per alerted post as it is delivered (so a
  killed replay loses none), naming its story ("story": the first post) and
  "also_in": the story's other channels so far and that same line.
Without a LocalStories every alert stands alone and the terminal prints at once.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Protocol, TextIO

from bot.delivery.local_stories import LocalStories, Placement
from bot.formatting import also_in_text, excerpt, format_time, matched_spans
from bot.models import Alert, Post
from bot.stories import other_channels

EXCERPT_CHARS = 320
LOCAL_TIME_PATTERN = "%Y-%m-%d %H:%M"  # then the zone: "2024-05-13 11:15 MSK"
_BOLD_ON, _BOLD_OFF = "\x1b[1;33m", "\x1b[0m"
_DIM_ON = "\x1b[2m"


class Sink(Protocol):
    async def deliver(self, alert: Alert) -> int | None:
        """Show or send the alert; return the sent message id if there is one."""
        ...


def format_alert(alert: Alert, color: bool, copies: tuple[Post, ...] = ()) -> str:
    """The terminal text of one alert (two to five lines); `copies`: its story's reposts, as "also in"."""
    post = alert.post
    where = channel_name(post)
    when = format_time(post.date, alert.subscriber.tz, LOCAL_TIME_PATTERN)
    rules = ", ".join(m.rule_id for m in alert.matches) or "-"
    flags = "".join([" (edited)" if alert.edited else "", " (found late)" if post.late else ""])
    mark = (_BOLD_ON, _BOLD_OFF) if color else ("**", "**")
    head = f"● {where} · {when} · rules: {rules}{flags}"
    lines = [f"{_BOLD_ON}{head}{_BOLD_OFF}" if color else head]
    if post.link:
        lines.append(f"  {_DIM_ON}{post.link}{_BOLD_OFF}" if color else f"  {post.link}")
    if copies:
        lines.append("  " + also_in_line(post, copies))
    spans = matched_spans(alert.matches, len(post.text))
    lines.append("  " + (excerpt(post.text, spans, EXCERPT_CHARS, mark=mark) or "(no text)"))
    return "\n".join(lines)


def also_in_line(first: Post, copies: tuple[Post, ...]) -> str:
    """The story's "🔁 also in N channels: @b, @c" line, worded as in a Telegram alert."""
    return also_in_text([_copy_name(p) for p in other_channels(first, copies)])


def format_repost(alert: Alert, placed: Placement, color: bool) -> str:
    """A repost of a story printed earlier: "🔁 also in 2 channels: @b, @c · new: @c · time · link (story: @a, time)"."""
    post, story, tz = alert.post, placed.first, alert.subscriber.tz
    when = format_time(post.date, tz, LOCAL_TIME_PATTERN)
    link = f" · {post.link}" if post.link else ""
    first = f"{channel_name(story)}, {format_time(story.date, tz, LOCAL_TIME_PATTERN)}"
    line = f"  {also_in_line(story, placed.copies)} · new: {channel_name(post)} · {when}{link} (story: {first})"
    return f"{_DIM_ON}{line}{_BOLD_OFF}" if color else line


def _copy_name(post: Post) -> str:
    """A copy's channel as the Telegram alert names it: @username, else its title."""
    return f"@{post.channel}" if post.channel else (post.channel_title or str(post.channel_id))


def channel_name(post: Post) -> str:
    return post.channel_title or (f"@{post.channel}" if post.channel else str(post.channel_id))


class TerminalSink:
    """Prints alerts to a stream (stdout by default); colours only on a TTY. With `stories`, the alerts
    of a pass are held until `flush()` so each story prints once with its "also in" line."""

    def __init__(self, stream: TextIO | None = None, color: bool | None = None,
                 stories: LocalStories | None = None):
        self.stream = stream or sys.stdout
        self.color = _is_tty(self.stream) if color is None else color
        self.stories = stories
        self.count = 0
        self._held: dict[int, Alert] = {}  # story -> its first alert, not printed yet

    async def deliver(self, alert: Alert) -> int | None:
        self.count += 1
        if self.stories is None:
            self._write(format_alert(alert, self.color))
            return None
        placed = self.stories.placement(alert)
        if placed.is_first:
            self._held.setdefault(placed.story, alert)
        elif placed.story not in self._held:  # its story was printed in an earlier pass
            self._write(format_repost(alert, placed, self.color))
        return None

    def flush(self) -> None:
        """Print the held stories, each once, with the reposts gathered so far."""
        held, self._held = self._held, {}
        for story, alert in held.items():
            self._write(format_alert(alert, self.color, self.stories.copies(story)))

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n\n")
        self.stream.flush()


def alert_record(alert: Alert, placed: Placement | None = None) -> dict:
    """The JSON object of one delivered alert (one line of --alerts-to); `placed`: its story so far."""
    post = alert.post
    first = placed.first if placed else post
    others = other_channels(first, placed.copies) if placed else []
    return {
        "post": {
            "channel": post.channel, "channel_id": post.channel_id, "channel_title": post.channel_title,
            "id": post.message_id, "date": post.date.isoformat(), "link": post.link, "text": post.text,
        },
        "rules": [m.rule_id for m in alert.matches],
        "tags": sorted({t for m in alert.matches for t in m.tags}),
        "spans": {m.rule_id: [list(s) for s in m.spans] for m in alert.matches},
        "edited": alert.edited,
        "subscriber": alert.subscriber.chat_id,
        "story": {"channel": first.channel, "channel_id": first.channel_id, "id": first.message_id},
        "also_in": {"channels": [_copy_name(p) for p in others],
                    "text": also_in_line(first, placed.copies) if placed and placed.copies else None},
    }


class JsonlSink:
    """Appends one JSON line per delivered alert; each line is one write, flushed at once."""

    def __init__(self, path: Path | str, stories: LocalStories | None = None):
        self.path = Path(path)
        self.stories = stories
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.count = 0

    async def deliver(self, alert: Alert) -> int | None:
        placed = self.stories.placement(alert) if self.stories else None
        line = json.dumps(alert_record(alert, placed), ensure_ascii=False) + "\n"
        os.write(self._fd, line.encode("utf-8"))
        self.count += 1
        return None

    def close(self) -> None:
        os.close(self._fd)


class FanoutSink:
    """Delivers to several sinks in order; returns the first message id any of them gave."""

    def __init__(self, *sinks: Sink):
        self.sinks = sinks

    async def deliver(self, alert: Alert) -> int | None:
        result = None
        for sink in self.sinks:
            message_id = await sink.deliver(alert)
            result = result if result is not None else message_id
        return result

    def flush(self) -> None:
        flush_sink(*self.sinks)


def flush_sink(*sinks) -> None:
    """Let sinks that hold alerts (the terminal with stories) print them now."""
    for sink in sinks:
        flush = getattr(sink, "flush", None)
        if flush is not None:
            flush()


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("NO_COLOR") is None
    except (AttributeError, ValueError):
        return False
