"""A shared request budget per account: paces lookups and sweeps, sleeps out FloodWaits.

Telegram punishes bursts (a burst of username lookups has earned waits of
2,787 s and 74,263 s). Every request the watcher makes for an account goes
through its Budget: at most one at a time, a minimum gap between requests of
a kind, and after a FloodWait the whole account waits, once, logged once.
The sleep and the clock are arguments so tests never really sleep.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable, TypeVar

from bot.errors import RetryLater

log = logging.getLogger(__name__)
T = TypeVar("T")

GAPS = {"history": 0.5, "resolve": 10.0, "join": 30.0, "other": 0.2}  # seconds between requests of a kind


class Budget:
    def __init__(self, account: str, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.monotonic, gaps: dict[str, float] | None = None,
                 max_waits: int = 20):
        self.account = account
        self.sleep = sleep
        self.clock = clock
        self.gaps = dict(GAPS if gaps is None else gaps)
        self.max_waits = max_waits
        self.waited: list[float] = []  # FloodWait seconds slept, for logs and tests
        self._blocked_until = 0.0
        self._last: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def _pace(self, kind: str) -> None:
        now = self.clock()
        ready = max(self._blocked_until, self._last.get(kind, -1e18) + self.gaps.get(kind, 0.0))
        if ready > now:
            await self.sleep(ready - now)
        self._last[kind] = self.clock()

    async def run(self, request: Callable[[], Awaitable[T]], kind: str = "other", what: str = "") -> T:
        """Await `request()` in turn; on RetryLater sleep that long and try again."""
        for _ in range(self.max_waits + 1):
            async with self._lock:
                await self._pace(kind)
                try:
                    return await request()
                except RetryLater as exc:
                    self.block(exc.seconds, what or exc.what)
        raise RetryLater(max(self._blocked_until - self.clock(), 1), what)

    def blocked(self) -> bool:
        """True while the account sits out a FloodWait."""
        return self._blocked_until > self.clock()

    def block(self, seconds: float, what: str = "") -> None:
        """Telegram asked this account to wait: every request waits that long."""
        log.warning("Telegram asked account %s to wait %.0f s (%s); pausing its requests",
                    self.account, seconds, what or "request")
        self.waited.append(seconds)
        self._blocked_until = max(self._blocked_until, self.clock() + seconds)
