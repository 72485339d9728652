"""Days a person types on the command line: `parse_day(text, today)`.

Accepts `YYYY-MM-DD`, `DD.MM.YYYY`, `today` and `yesterday`; anything else is
a UsageError naming these forms. `today` is an argument; nothing here reads
the clock. (`dozor rematch --from/--to`; meant to be shared by every command
that takes days.)
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from bot.errors import UsageError

DAY_FORMATS = "YYYY-MM-DD, DD.MM.YYYY, today or yesterday"
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(text: str, today: date, option: str = "a day") -> date:
    """The day `text` names; UsageError (naming `option` and the accepted forms) otherwise."""
    word = (text or "").strip().lower()
    if word == "today":
        return today
    if word == "yesterday":
        return today - timedelta(days=1)
    try:
        if _ISO.match(word):
            return date.fromisoformat(word)
        dotted = _DOTTED.match(word)
        if dotted:
            return date(int(dotted[3]), int(dotted[2]), int(dotted[1]))
    except ValueError:
        raise UsageError(f"{option} {text!r} is no such day: write {DAY_FORMATS}") from None
    raise UsageError(f"{option} {text!r} is not a day: write {DAY_FORMATS} (e.g. 2026-11-28 or 28.11.2026)")
