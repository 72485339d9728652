"""Days a person types, and the `--from DAY --to DAY` window every reading command shares.

`parse_day(text, today)` accepts `YYYY-MM-DD`, `DD.MM.YYYY`, `DD.MM` (the
latest such day not after `today`), `today` and `yesterday`; anything else is
a UsageError naming these forms. `add_window_options(parser)` adds `--from`
and `--to` to a subparser; `window_from_args(args, tz, now)` turns them into a
`DayWindow`: inclusive days in the display zone (DOZOR_TZ) as a UTC
[start, end) window, or None when neither option was given. `--from` alone
runs to `now`; `--to` alone starts at the first stored post.
`empty_window_note` says which dates the database holds when a window is empty.
`now` and the zone are arguments; nothing here reads the clock.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from bot.errors import UsageError
from bot.formatting import DAY_FORMATS, format_time, zone
from bot.formatting import parse_day as parse_any_day
from bot.storage.history import stored_post_range

DAY_PATTERN = "%d.%m.%Y"


def parse_day(text: str, today: date, option: str = "a day") -> date:
    """The day `text` names (bot.formatting.parse_day); UsageError naming `option` and the accepted forms."""
    try:
        return parse_any_day(text, today)
    except ValueError as exc:
        raise UsageError(f"{option} {exc}") from None


@dataclass(frozen=True)
class DayWindow:
    """Inclusive days in `tz` as a UTC [start, end); a missing side is open (None)."""

    first: date | None
    last: date | None
    tz: str
    start: datetime | None
    end: datetime | None

    def label(self) -> str:
        """'on 28.11.2026 (MSK)', 'from 28.11.2026 to 29.11.2026 (MSK)', 'since …', 'up to …'."""
        name = _zone_name(self.tz, self.start or self.end)
        first = self.first.strftime(DAY_PATTERN) if self.first else None
        last = self.last.strftime(DAY_PATTERN) if self.last else None
        if first and last:
            return f"from {first} to {last} ({name})" if first != last else f"on {first} ({name})"
        return f"since {first} ({name})" if first else f"up to {last} ({name})"


def _zone_name(tz: str, moment: datetime | None) -> str:
    return (moment.astimezone(zone(tz)).tzname() if moment else None) or tz


def day_start(day: date, tz: str) -> datetime:
    """Midnight at the start of `day` in `tz`, in UTC."""
    return datetime.combine(day, time(0), tzinfo=zone(tz)).astimezone(timezone.utc)


def day_window(first: date | None, last: date | None, tz: str, now: datetime) -> DayWindow:
    """Days `first`..`last` (inclusive) in `tz`; `first` alone runs to `now`. UsageError if reversed."""
    if first and last and first > last:
        raise UsageError(f"--from {first.isoformat()} is after --to {last.isoformat()}: swap them")
    start = day_start(first, tz) if first else None
    end = day_start(last + timedelta(days=1), tz) if last else (now if first else None)
    return DayWindow(first, last, tz, start, end)


def add_window_options(parser: argparse.ArgumentParser, what: str = "posts", note: str = "") -> None:
    """Add `--from DAY` and `--to DAY` (inclusive, in DOZOR_TZ) to a subparser; `note` ends --from's help."""
    parser.add_argument("--from", dest="from_day", metavar="DAY",
                        help=f"first day of {what} to read, in DOZOR_TZ ({DAY_FORMATS}){note}")
    parser.add_argument("--to", dest="to_day", metavar="DAY",
                        help=f"last day of {what} to read, inclusive (same forms; default: up to now)")


def window_from_args(args: argparse.Namespace, tz: str, now: datetime) -> DayWindow | None:
    """The window `--from`/`--to` ask for, or None when neither was given."""
    raw_first, raw_last = getattr(args, "from_day", None), getattr(args, "to_day", None)
    if raw_first is None and raw_last is None:
        return None
    today = now.astimezone(zone(tz)).date()
    first = parse_day(raw_first, today, "--from") if raw_first is not None else None
    last = parse_day(raw_last, today, "--to") if raw_last is not None else None
    return day_window(first, last, tz, now)


async def empty_window_note(store, since: datetime | None, until: datetime | None, label: str | None,
                            tz: str) -> str | None:
    """None when [since, until) holds stored posts; else the line saying which dates the database holds."""
    if (await stored_post_range(store, since, until))[2]:
        return None
    return no_posts_message(label, await stored_post_range(store), tz)


def no_posts_message(label: str | None, held: tuple[datetime | None, datetime | None, int], tz: str) -> str:
    """'No stored posts <label>; the database holds N posts from … to …' (or none at all)."""
    first, last, count = held
    where = f" {label}" if label else ""
    if not count:
        return f"No stored posts{where}: the database holds none yet (`dozor run` reads posts)."
    span = f"from {format_time(first, tz)} to {format_time(last, tz)}"
    days = [moment.astimezone(zone(tz)).date().isoformat() for moment in (first, last)]
    return (f"No stored posts{where}; the database holds {count} post{'s' if count != 1 else ''} {span}"
            f" (try --from {days[0]} --to {days[1]}).")
