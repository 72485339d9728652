"""The one clock: `utc_now()` and the `Clock` type edges take (tests pass fake clocks).

Only edges (the app, the watcher, delivery, the scheduler, the CLI) call a
clock; pure code takes `now` as an argument.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

Clock = Callable[[], datetime]  # returns a timezone-aware UTC time


def utc_now() -> datetime:
    """The wall clock, timezone-aware UTC."""
    return datetime.now(timezone.utc)
