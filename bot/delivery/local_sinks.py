"""Where a delivered alert ends up: the terminal, a JSONL file (Telegram sinks come later).

A sink is one async method, `deliver(alert) -> message id or None`. The
terminal sink prints channel, time, link, matched rules and an excerpt around
the matched words with those words highlighted (ANSI on a TTY, **word** when not).
"""
from __future__ import annotations

import json
import os
import sys
import unicodedata
from datetime import timezone
from pathlib import Path
from typing import Protocol, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.models import Alert, Match, Span

EXCERPT_CHARS = 320
_BOLD_ON, _BOLD_OFF = "\x1b[1;33m", "\x1b[0m"
_DIM_ON = "\x1b[2m"


class Sink(Protocol):
    async def deliver(self, alert: Alert) -> int | None:
        """Show or send the alert; return the sent message id if there is one."""
        ...


def merged_spans(matches: tuple[Match, ...] | list[Match], length: int) -> list[Span]:
    """All matched spans, clipped to the text, sorted, overlaps joined."""
    spans = sorted((max(0, s), min(length, e)) for m in matches for s, e in m.spans if s < e)
    merged: list[list[int]] = []
    for start, end in spans:
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def clean_text(text: str) -> str:
    """One line, no control or invisible format characters (they would garble a terminal)."""
    return " ".join(_drop_invisible(text).split())


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


def excerpt(text: str, spans: list[Span], width: int = EXCERPT_CHARS, mark: tuple[str, str] = ("**", "**")) -> str:
    """A window of about `width` characters around the first spans, the spans wrapped in `mark`."""
    if not text:
        return ""
    first = spans[0][0] if spans else 0
    start = max(0, min(first - width // 3, len(text) - width))
    end = min(len(text), start + width)
    pieces, cursor = [], start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        pieces.append(_drop_invisible(text[cursor:s]))
        pieces.append(mark[0] + _drop_invisible(text[s:e]) + mark[1])
        cursor = e
    pieces.append(_drop_invisible(text[cursor:end]))
    body = " ".join("".join(pieces).split())
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def format_alert(alert: Alert, color: bool) -> str:
    """The terminal text of one alert (two to four lines)."""
    post = alert.post
    where = post.channel_title or (f"@{post.channel}" if post.channel else str(post.channel_id))
    when = local_time(post.date, alert.subscriber.tz)
    rules = ", ".join(m.rule_id for m in alert.matches) or "-"
    flags = "".join([" (edited)" if alert.edited else "", " (found late)" if post.late else ""])
    mark = (_BOLD_ON, _BOLD_OFF) if color else ("**", "**")
    head = f"● {where} · {when} · rules: {rules}{flags}"
    lines = [f"{_BOLD_ON}{head}{_BOLD_OFF}" if color else head]
    if post.link:
        lines.append(f"  {_DIM_ON}{post.link}{_BOLD_OFF}" if color else f"  {post.link}")
    lines.append("  " + (excerpt(post.text, merged_spans(alert.matches, len(post.text)), mark=mark) or "(no text)"))
    return "\n".join(lines)


def local_time(moment, tz: str) -> str:
    """The time in the subscriber's zone, e.g. "2024-05-13 11:15 MSK" (UTC if the zone is unknown)."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = timezone.utc
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


class TerminalSink:
    """Prints alerts to a stream (stdout by default); colours only on a TTY."""

    def __init__(self, stream: TextIO | None = None, color: bool | None = None):
        self.stream = stream or sys.stdout
        self.color = _is_tty(self.stream) if color is None else color
        self.count = 0

    async def deliver(self, alert: Alert) -> int | None:
        self.stream.write(format_alert(alert, self.color) + "\n\n")
        self.stream.flush()
        self.count += 1
        return None


def alert_record(alert: Alert) -> dict:
    """The JSON object of one delivered alert (one line of --alerts-to)."""
    post = alert.post
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
    }


class JsonlSink:
    """Appends one JSON line per delivered alert; each line is one write, flushed at once."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.count = 0

    async def deliver(self, alert: Alert) -> int | None:
        line = json.dumps(alert_record(alert), ensure_ascii=False) + "\n"
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
