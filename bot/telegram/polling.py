"""How often to poll a channel that is not joined: busy channels more often, quiet ones less.

Pure: takes the channel's recent post dates and the limits, returns seconds.
Half the median gap between its recent posts, never below `floor` (nor below
what the account's request budget allows when every polled channel is busy:
`polled` channels × the minimum gap between history requests), never above
`ceiling` (the sweep interval). A channel with fewer than two posts known
gets the ceiling.
"""
from __future__ import annotations

from datetime import datetime
from statistics import median
from typing import Sequence


def poll_interval(dates: Sequence[datetime], floor: float, ceiling: float, polled: int = 1,
                  request_gap: float = 0.0) -> float:
    lowest = min(max(floor, polled * request_gap), ceiling)
    ordered = sorted(dates)
    gaps = [(b - a).total_seconds() for a, b in zip(ordered, ordered[1:])]
    if not gaps:
        return float(ceiling)
    return float(min(max(median(gaps) / 2, lowest), ceiling))
