"""Where a delivered alert ends up: the terminal, a JSONL file (Telegram sinks: telegram_sink.py).

A sink is one async method, `deliver(alert) -> message id or None`. The
terminal sink prints channel, time, link, matched rules and an excerpt around
the matched words with those words highlighted (ANSI on a TTY, **word** when not).

Given a LocalStories (bot/delivery/local_stories.py, the "same story" rule of
bot/stories.py), a repost of a story already shown is one short "also in"
line in the terminal instead of a full alert, and its JSONL record names the
story it belongs to ("story": the story's first post). Without one, every
alert stands alone.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Protocol, TextIO

from bot.delivery.local_stories import LocalStories
from bot.formatting import excerpt, format_time, matched_spans
from bot.models import Alert, Post

EXCERPT_CHARS = 320
LOCAL_TIME_PATTERN = "%Y-%m-%d %H:%M"  # then the zone: "2024-05-13 11:15 MSK"
_BOLD_ON, _BOLD_OFF = "\x1b[1;33m", "\x1b[0m"
_DIM_ON = "\x1b[2m"


class Sink(Protocol):
    async def deliver(self, alert: Alert) -> int | None:
        """Show or send the alert; return the sent message id if there is one."""
        ...


def format_alert(alert: Alert, color: bool) -> str:
    """The terminal text of one alert (two to four lines)."""
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
    spans = matched_spans(alert.matches, len(post.text))
    lines.append("  " + (excerpt(post.text, spans, EXCERPT_CHARS, mark=mark) or "(no text)"))
    return "\n".join(lines)


def format_repost(alert: Alert, story: Post, color: bool) -> str:
    """The terminal line of a repost: "🔁 also in @b · time · link (story: @a, time)"."""
    post, tz = alert.post, alert.subscriber.tz
    when = format_time(post.date, tz, LOCAL_TIME_PATTERN)
    link = f" · {post.link}" if post.link else ""
    first = f"{channel_name(story)}, {format_time(story.date, tz, LOCAL_TIME_PATTERN)}"
    line = f"  🔁 also in {channel_name(post)} · {when}{link} (story: {first})"
    return f"{_DIM_ON}{line}{_BOLD_OFF}" if color else line


def channel_name(post: Post) -> str:
    return post.channel_title or (f"@{post.channel}" if post.channel else str(post.channel_id))


class TerminalSink:
    """Prints alerts to a stream (stdout by default); colours only on a TTY."""

    def __init__(self, stream: TextIO | None = None, color: bool | None = None,
                 stories: LocalStories | None = None):
        self.stream = stream or sys.stdout
        self.color = _is_tty(self.stream) if color is None else color
        self.stories = stories
        self.count = 0

    async def deliver(self, alert: Alert) -> int | None:
        story = self.stories.place(alert) if self.stories else None
        if story is not None:
            self.stream.write(format_repost(alert, story, self.color) + "\n\n")
        else:
            self.stream.write(format_alert(alert, self.color) + "\n\n")
        self.stream.flush()
        self.count += 1
        return None


def alert_record(alert: Alert, story: Post | None = None) -> dict:
    """The JSON object of one delivered alert (one line of --alerts-to); `story`: its story's first post."""
    post = alert.post
    first = story or post
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
        story = self.stories.place(alert) if self.stories else None
        line = json.dumps(alert_record(alert, story), ensure_ascii=False) + "\n"
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


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty() and os.environ.get("NO_COLOR") is None
    except (AttributeError, ValueError):
        return False
