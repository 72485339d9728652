"""Command rate limits, pure: the caller passes `now` (seconds, any monotonic origin).

Each user may send at most `per_user` commands (and button presses) in any
`window` seconds, and each chat at most `per_chat`. Past a limit the first
command gets one "slow down" answer with the wait; every further one until the
window has room again gets no answer at all, so a flood costs one message.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

PER_USER, PER_CHAT, WINDOW = 20, 30, 60.0
_EPS = 1e-9


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    warn: bool = False  # refused: answer once with `wait`; refused and not warn: stay quiet
    wait: int = 0  # whole seconds until the next command is allowed

    @property
    def text(self) -> str:
        return f"Slow down: try again in {self.wait} s."


class CommandThrottle:
    def __init__(self, per_user: int = PER_USER, per_chat: int = PER_CHAT, window: float = WINDOW):
        if per_user <= 0 or per_chat <= 0 or window <= 0:
            raise ValueError("command limits must be positive")
        self.per_user, self.per_chat, self.window = per_user, per_chat, window
        self._users: dict[int, deque[float]] = {}
        self._chats: dict[int, deque[float]] = {}
        self._warned: dict[tuple[int, int], float] = {}  # (user, chat) -> when the wait ends

    def check(self, user_id: int, chat_id: int, now: float) -> Verdict:
        """May this user run a command in this chat now? Allowed ones are counted."""
        users = self._users.setdefault(user_id, deque())
        chats = self._chats.setdefault(chat_id, deque())
        wait = max(_wait(users, self.per_user, self.window, now), _wait(chats, self.per_chat, self.window, now))
        if wait <= _EPS:
            users.append(now)
            chats.append(now)
            self._forget(now)
            return Verdict(True)
        key = (user_id, chat_id)
        if self._warned.get(key, -math.inf) > now:
            return Verdict(False)
        self._warned[key] = now + wait
        return Verdict(False, warn=True, wait=max(1, math.ceil(wait)))

    def _forget(self, now: float) -> None:
        if len(self._users) + len(self._chats) < 4096:
            return
        self._users = {k: q for k, q in self._users.items() if q and q[-1] > now - self.window}
        self._chats = {k: q for k, q in self._chats.items() if q and q[-1] > now - self.window}
        self._warned = {k: t for k, t in self._warned.items() if t > now}


def _wait(times: deque[float], limit: int, window: float, now: float) -> float:
    while times and times[0] <= now - window + _EPS:
        times.popleft()
    return 0.0 if len(times) < limit else times[len(times) - limit] + window - now
