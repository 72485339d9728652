"""Send-rate limits, pure: the caller passes `now` (seconds, any monotonic origin).

Three limits, as Telegram enforces them for bots (settings):
- per chat: at most `per_chat` messages a second (1 → one every second);
- per group or channel (negative chat id): at most `per_group_minute` in any 60 s;
- in all: at most `global_per_second` in any 1 s.
Plus pauses: after a FloodWait for one chat (or for everything) nothing goes
there until the pause ends.

The worker asks `delay(chat_id, now)`; 0 means send now, then it calls
`record(chat_id, now)`. Otherwise it sends to another chat or sleeps. Nothing
is dropped here: the limiter only says when.
"""
from __future__ import annotations

from collections import deque

_EPS = 1e-9


class RateLimiter:
    def __init__(self, per_chat: float = 1.0, per_group_minute: int = 20, global_per_second: int = 30):
        if per_chat <= 0 or per_group_minute <= 0 or global_per_second <= 0:
            raise ValueError("rate limits must be positive")
        self.chat_gap = 1.0 / per_chat
        self.per_group_minute = per_group_minute
        self.global_per_second = global_per_second
        self._last: dict[int, float] = {}
        self._groups: dict[int, deque[float]] = {}
        self._all: deque[float] = deque()
        self._paused: dict[int | None, float] = {}

    @classmethod
    def from_settings(cls, settings) -> "RateLimiter":
        return cls(settings.rate_per_chat, settings.rate_per_group, settings.rate_global)

    def delay(self, chat_id: int, now: float) -> float:
        """Seconds to wait before the next message to `chat_id` (0.0 = send now)."""
        waits = [self._paused.get(chat_id, 0.0) - now, self._paused.get(None, 0.0) - now]
        last = self._last.get(chat_id)
        if last is not None:
            waits.append(last + self.chat_gap - now)
        waits.append(_window_wait(self._all, self.global_per_second, 1.0, now))
        if chat_id < 0 and chat_id in self._groups:
            waits.append(_window_wait(self._groups[chat_id], self.per_group_minute, 60.0, now))
        wait = max(waits)
        return wait if wait > _EPS else 0.0

    def record(self, chat_id: int, now: float) -> None:
        """A message to `chat_id` went out at `now`."""
        self._last[chat_id] = now
        self._all.append(now)
        if chat_id < 0:
            self._groups.setdefault(chat_id, deque()).append(now)
        if len(self._last) > 1024:
            self.forget(now)

    def pause(self, chat_id: int | None, seconds: float, now: float) -> None:
        """Send nothing to `chat_id` (None: to anyone) for `seconds` (a FloodWait)."""
        self._paused[chat_id] = max(self._paused.get(chat_id, 0.0), now + seconds)

    def forget(self, now: float) -> None:
        """Drop state that no longer limits anything (keeps memory flat with many chats)."""
        self._last = {c: t for c, t in self._last.items() if t + self.chat_gap > now}
        self._groups = {c: q for c, q in self._groups.items() if q and q[-1] + 60.0 > now}
        self._paused = {c: t for c, t in self._paused.items() if t > now}


def _window_wait(times: deque[float], limit: int, window: float, now: float) -> float:
    """Wait until fewer than `limit` of `times` fall within the last `window` seconds."""
    while times and times[0] <= now - window + _EPS:
        times.popleft()
    if len(times) < limit:
        return 0.0
    return times[len(times) - limit] + window - now
