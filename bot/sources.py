"""Posts from files: JSONL in the interchange format (also .gz) and Telegram Desktop exports.

JSONL: one object a line, `text` required; `channel`, `channel_id`,
`channel_title`, `id`, `date`, `views`, `link`, `lang` optional. A line that is
not JSON or lacks `text` is reported (with its line number) and skipped.

Defaults for missing fields, chosen so replaying a file twice stores nothing new:
- `channel_id` missing: a stable id derived from the channel name,
  `-(9 * 10**12 + crc32(name lower-cased))`; such ids never collide with
  Telegram's marked channel ids (-100…, 13 digits starting with 100).
  No name either: the name "replay".
- `id` missing: the line number. `date` missing: the `default_date` given.
Telegram Desktop export: the `result.json` of "Export chat history" (JSON) for
a channel; its `id` becomes the marked id -100<id>, service messages are skipped.
"""
from __future__ import annotations

import gzip
import json
import logging
import re
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from bot.errors import SourceError
from bot.formatting import DERIVED_ID_BASE, post_link
from bot.models import Post

log = logging.getLogger(__name__)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """JSON may escape a lone UTF-16 surrogate; UTF-8 (SQLite) cannot hold it: U+FFFD, same length."""
    return _LONE_SURROGATE.sub("\ufffd", text)


@dataclass
class ReadReport:
    """What a reader saw: lines read and lines skipped (with the reason)."""

    lines: int = 0
    posts: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)


def derived_channel_id(name: str) -> int:
    """The stable made-up id of a channel known only by name."""
    return -(DERIVED_ID_BASE + zlib.crc32(name.strip().lstrip("@").lower().encode("utf-8")))


def parse_date(value: Any, default: datetime) -> datetime:
    """ISO 8601 text or a Unix time; naive times are UTC."""
    if value is None or value == "":
        return default
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value), tz=timezone.utc)
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def post_from_record(record: dict, line_no: int, default_date: datetime) -> Post:
    """A Post from one interchange-format object; raises ValueError naming what is wrong."""
    text = record.get("text")
    if not isinstance(text, str):
        raise ValueError("no \"text\"")
    text = without_surrogates(text)
    channel = record.get("channel") or None
    if channel is not None:
        channel = str(channel).strip().lstrip("@") or None
    raw_id = record.get("channel_id")
    channel_id = int(raw_id) if raw_id not in (None, "") else derived_channel_id(channel or "replay")
    message_id = int(record["id"]) if record.get("id") not in (None, "") else line_no
    return Post(
        channel_id=channel_id, message_id=message_id, text=text,
        date=parse_date(record.get("date"), default_date), channel=channel,
        channel_title=without_surrogates(str(record.get("channel_title") or "")) or channel,
        link=record.get("link") or post_link(channel_id, message_id, channel),
        views=_int_or_none(record.get("views")), forwards=_int_or_none(record.get("forwards")),
        lang=record.get("lang"),
    )


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def read_jsonl(path: Path, report: ReadReport, default_date: datetime) -> Iterator[Post]:
    """Posts from a .jsonl or .jsonl.gz file; bad lines go to report.skipped and the log."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as lines:
            for line_no, line in enumerate(lines, start=1):
                report.lines = line_no
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    if not isinstance(record, dict):
                        raise ValueError("not a JSON object")
                    post = post_from_record(record, line_no, default_date)
                except ValueError as exc:  # JSONDecodeError is a ValueError
                    reason = "not JSON" if isinstance(exc, json.JSONDecodeError) else str(exc)
                    _skip(report, path, line_no, reason)
                    continue
                report.posts += 1
                yield post
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from exc


def _skip(report: ReadReport, path: Path, line_no: int, reason: str) -> None:
    report.skipped.append((line_no, reason))
    log.warning("%s line %d skipped: %s", path.name, line_no, reason)


def export_text(value: Any) -> str:
    """Telegram Desktop's `text`: a string or a list of strings and {type, text} pieces."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in value)
    return ""


def read_desktop_export(path: Path, report: ReadReport, default_date: datetime) -> Iterator[Post]:
    """Posts from a Telegram Desktop export (result.json) of one channel."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise SourceError(f"{path}: not a Telegram Desktop chat export (no \"messages\" list)")
    title = without_surrogates(data["name"]) if isinstance(data.get("name"), str) else None
    raw_id = data.get("id")
    channel_id = int(f"-100{raw_id}") if raw_id is not None else derived_channel_id(title or path.stem)
    for index, message in enumerate(data["messages"], start=1):
        report.lines = index
        if message.get("type") != "message":
            continue
        text = without_surrogates(export_text(message.get("text")))
        if not text.strip():
            continue
        date = parse_date(message.get("date_unixtime") or message.get("date"), default_date)
        edited = message.get("edited_unixtime") or message.get("edited")
        report.posts += 1
        yield Post(
            channel_id=channel_id, message_id=int(message["id"]), text=text, date=date,
            channel_title=title, link=post_link(channel_id, int(message["id"])),
            has_media=bool(message.get("photo") or message.get("file") or message.get("media_type")),
            edit_date=parse_date(edited, date) if edited else None,
        )


def read_posts(path: Path | str, report: ReadReport, default_date: datetime) -> Iterator[Post]:
    """Posts from a replay file: a Telegram Desktop export (.json) or JSONL (.jsonl, .gz, anything else)."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"replay file not found: {path}")
    if path.suffix == ".json":
        return read_desktop_export(path, report, default_date)
    return read_jsonl(path, report, default_date)
