"""Posts from files: JSONL in the interchange format (also .gz) and Telegram Desktop exports.

JSONL: one object a line, `text` required; `channel`, `channel_id`,
`channel_title`, `id`, `date`, `views`, `link`, `lang` optional. A line that is
not JSON, lacks `text` or holds a field of the wrong kind (ids that are not
64-bit integers, a date out of range, a `link` or `lang` that is not text) is
reported with its line number and skipped; so is a bad export message, with
its number. Nothing a file holds stops a replay with a traceback.

Defaults for missing fields, chosen so replaying a file twice stores nothing new:
- `channel_id` missing: a stable id derived from the channel name,
  `-(9 * 10**12 + crc32(name lower-cased))`; such ids never collide with
  Telegram's marked channel ids (-100…, 13 digits starting with 100).
  No name either: the name "replay".
- `id` missing: the line number. `date` missing: the `default_date` given.
Telegram Desktop export: the `result.json` of "Export chat history" (JSON) for
a channel; its `id` becomes the marked id -100<id>, service messages are skipped.

One reader for every command that reads posts (`run --replay`, `match`):
`read_posts(path)` for a file (.json: an export; else JSONL, gzipped or not,
told by its first bytes, whatever its name), `read_stream(binary)` for stdin
(JSONL, gzipped JSONL, or an export, told by how it starts).
"""
from __future__ import annotations

import gzip
import io
import itertools
import json
import logging
import re
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

from bot.errors import SourceError
from bot.formatting import DERIVED_ID_BASE, post_link
from bot.models import Post

log = logging.getLogger(__name__)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
INT64 = (-2**63, 2**63 - 1)  # what SQLite's INTEGER holds
BAD_RECORD = (ValueError, TypeError, KeyError, AttributeError, OverflowError)  # a record we cannot read


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


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def int64(value: Any, name: str) -> int:
    """An integer field that SQLite can hold; ValueError naming the field otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} must be an integer, not {_shown(value)}")
    try:
        number = int(value)
    except (ValueError, OverflowError):  # "x1", 1e400 (inf), NaN
        raise ValueError(f"{name} must be an integer, not {_shown(value)}") from None
    if isinstance(value, float) and number != value:
        raise ValueError(f"{name} must be an integer, not {_shown(value)}")
    if not INT64[0] <= number <= INT64[1]:
        raise ValueError(f"{name} {_shown(value)} does not fit in 64 bits")
    return number


DATE_FORMAT = ("write ISO 8601, e.g. 2022-04-12T09:30:00+00:00 (no zone: UTC), "
               "or a Unix time in seconds, e.g. 1649755800")


def parse_date(value: Any, default: datetime) -> datetime:
    """ISO 8601 text or a Unix time; naive times are UTC. ValueError if it is neither or out of range."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ValueError(f"date must be text or a number, not {_shown(value)}: {DATE_FORMAT}")
    if isinstance(value, (int, float)) or (isinstance(value, str) and value.isdigit()):
        try:
            return datetime.fromtimestamp(int(value), tz=timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise ValueError(f"date {_shown(value)} is out of range") from None
    if not isinstance(value, str):
        raise ValueError(f"date must be text or a number, not {_shown(value)}: {DATE_FORMAT}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"date {_shown(value)} is not a date: {DATE_FORMAT}") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _optional_text(record: dict, name: str) -> str | None:
    value = record.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, not {_shown(value)}")
    return value


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
    channel_id = int64(raw_id, "channel_id") if raw_id not in (None, "") else derived_channel_id(channel or "replay")
    message_id = int64(record["id"], "id") if record.get("id") not in (None, "") else line_no
    return Post(
        channel_id=channel_id, message_id=message_id, text=text,
        date=parse_date(record.get("date"), default_date), channel=channel,
        channel_title=without_surrogates(str(record.get("channel_title") or "")) or channel,
        link=_optional_text(record, "link") or post_link(channel_id, message_id, channel),
        views=_int_or_none(record.get("views")), forwards=_int_or_none(record.get("forwards")),
        lang=_optional_text(record, "lang"),
    )


def _int_or_none(value: Any) -> int | None:
    """A count that is optional: anything but a 64-bit integer becomes None."""
    try:
        return None if value is None else int64(value, "count")
    except ValueError:
        return None


GZIP_MAGIC = b"\x1f\x8b"


def read_jsonl(path: Path, report: ReadReport, default_date: datetime) -> Iterator[Post]:
    """Posts from a JSONL file, gzipped or not (told by its first bytes); bad lines go to report.skipped."""
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == GZIP_MAGIC
        opener = gzip.open if gzipped else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as lines:
            yield from read_jsonl_lines(lines, path.name, report, default_date)
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from exc


def read_jsonl_lines(lines: Iterable[str], name: str, report: ReadReport, default_date: datetime) -> Iterator[Post]:
    """Posts from JSONL lines (`name` labels warnings); bad lines go to report.skipped and the log."""
    for line_no, line in enumerate(lines, start=1):
        report.lines = line_no
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            post = post_from_record(record, line_no, default_date)
        except BAD_RECORD as exc:  # JSONDecodeError is a ValueError
            reason = "not JSON" if isinstance(exc, json.JSONDecodeError) else _reason(exc)
            _skip(report, name, line_no, reason)
            continue
        report.posts += 1
        yield post


def read_stream(stream: BinaryIO, report: ReadReport, default_date: datetime, name: str = "stdin") -> Iterator[Post]:
    """Posts from a byte stream (stdin): JSONL, gzipped JSONL, or a Telegram Desktop export (told by its start)."""
    buffered = stream if hasattr(stream, "peek") else io.BufferedReader(stream)
    try:
        if buffered.peek(2)[:2] == GZIP_MAGIC:
            buffered = gzip.GzipFile(fileobj=buffered)
        text = io.TextIOWrapper(buffered, encoding="utf-8", errors="replace")
        first = text.readline()
        if first.strip() == "{":  # a pretty-printed JSON document, not one object a line
            data = _json_document(first + text.read(), name)
            yield from posts_from_export(data, name, report, default_date)
            return
        yield from read_jsonl_lines(itertools.chain([first], text), name, report, default_date)
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(f"cannot read {name}: {exc}") from exc


def _json_document(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise SourceError(f"cannot read {name}: {exc}") from exc


def _reason(exc: Exception) -> str:
    """What was wrong with a record: our ValueErrors say it; anything else names its type."""
    if isinstance(exc, ValueError):
        return str(exc)
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r}" if exc.args else "a field is missing"
    return f"a field of the wrong kind ({type(exc).__name__}: {exc})"


def _skip(report: ReadReport, name: str, number: int, reason: str, unit: str = "line") -> None:
    report.skipped.append((number, reason))
    log.warning("%s %s %d skipped: %s", name, unit, number, reason)


def export_text(value: Any) -> str:
    """Telegram Desktop's `text`: a string or a list of strings and {type, text} pieces."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(_export_piece(part) for part in value)
    return ""


def _export_piece(part: Any) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and isinstance(part.get("text", ""), str):
        return part.get("text", "")
    raise ValueError(f"text holds {_shown(part)} where a piece of text belongs")


def read_desktop_export(path: Path, report: ReadReport, default_date: datetime) -> Iterator[Post]:
    """Posts from a Telegram Desktop export (result.json) of one channel."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from exc
    return posts_from_export(data, path, report, default_date)


def posts_from_export(data: Any, source: Path | str, report: ReadReport, default_date: datetime) -> Iterator[Post]:
    """Posts from a parsed Telegram Desktop export; `source` (a path or "stdin") names it in messages."""
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise SourceError(f"{source}: not a Telegram Desktop chat export (no \"messages\" list)")
    return _export_posts(data, source, report, default_date)


def _export_posts(data: dict, source: Path | str, report: ReadReport, default_date: datetime) -> Iterator[Post]:
    name = source.name if isinstance(source, Path) else source
    title = without_surrogates(data["name"]) if isinstance(data.get("name"), str) else None
    stem = source.stem if isinstance(source, Path) else source
    channel_id = _export_channel_id(data.get("id"), title or stem, name)
    for index, message in enumerate(data["messages"], start=1):
        report.lines = index
        try:
            post = _export_post(message, channel_id, title, default_date)
        except BAD_RECORD as exc:
            _skip(report, name, index, _reason(exc), unit="message")
            continue
        if post is not None:
            report.posts += 1
            yield post


def _export_channel_id(raw_id: Any, name: str, source_name: str) -> int:
    """The marked id -100<id> of an export's channel; a made-up one (and a warning) if `id` is bad."""
    if raw_id is None:
        return derived_channel_id(name)
    try:
        number = int64(raw_id, "channel id")
        if number <= 0:
            raise ValueError(f"channel id {_shown(raw_id)} is not a positive integer")
        return int64(f"-100{number}", "channel id")
    except ValueError as exc:
        log.warning("%s: %s; its posts get a made-up channel id from the name %r", source_name, exc, name)
        return derived_channel_id(name)


def _export_post(message: Any, channel_id: int, title: str | None, default_date: datetime) -> Post | None:
    """A Post from one export message; None for service and empty messages; BAD_RECORD if malformed."""
    if not isinstance(message, dict):
        raise ValueError(f"the message is {_shown(message)}, not an object")
    if message.get("type") != "message":
        return None
    text = without_surrogates(export_text(message.get("text")))
    if not text.strip():
        return None
    message_id = int64(message["id"], "id")
    date = parse_date(message.get("date_unixtime") or message.get("date"), default_date)
    edited = message.get("edited_unixtime") or message.get("edited")
    return Post(
        channel_id=channel_id, message_id=message_id, text=text, date=date,
        channel_title=title, link=post_link(channel_id, message_id),
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
