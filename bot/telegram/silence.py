"""When is a channel's silence worth telling an operator? Pure: dates and `now` in, a verdict out."""
from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median

MIN_POSTS = 5  # fewer known posts: no rhythm to judge by
MIN_SILENCE = timedelta(hours=6)  # never warn about a shorter silence


def usual_gap(dates: list[datetime]) -> timedelta | None:
    """The median time between consecutive posts (dates oldest first), or None if too few."""
    if len(dates) < MIN_POSTS:
        return None
    gaps = [later - earlier for earlier, later in zip(dates, dates[1:])]
    return median(gaps)


def is_silent(dates: list[datetime], now: datetime, factor: float) -> bool:
    """True when the last post is older than `factor` times the usual gap (and at least 6 h)."""
    gap = usual_gap(dates)
    if gap is None or factor <= 0:
        return False
    return now - dates[-1] > max(gap * factor, MIN_SILENCE)
