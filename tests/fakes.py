"""Test doubles for the I/O seams (never for SQLite: tests use a real store)."""
from __future__ import annotations

import itertools
from collections import deque
from datetime import datetime, timedelta, timezone

from bot.errors import ChatMigrated, Forbidden, RetryLater
from bot.models import Outgoing


class FakeSender:
    """Records what was sent; can be told to raise for a chat, once or N times.

    sender.fail(chat_id, RetryLater(30))          # next send to chat raises once
    sender.fail(chat_id, TimeoutError(), times=3) # three times
    sender.fail(chat_id, Forbidden(chat_id), times=None)  # always
    """

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.calls: list[Outgoing] = []  # every attempt, including failed ones
        self._failures: dict[int, deque] = {}
        self._forever: dict[int, BaseException] = {}
        self._ids = itertools.count(1)

    def fail(self, chat_id: int, error: BaseException, times: int | None = 1) -> None:
        if times is None:
            self._forever[chat_id] = error
        else:
            self._failures.setdefault(chat_id, deque()).extend([error] * times)

    async def send(self, message: Outgoing) -> int:
        self.calls.append(message)
        if message.chat_id in self._forever:
            raise self._forever[message.chat_id]
        queue = self._failures.get(message.chat_id)
        if queue:
            raise queue.popleft()
        self.sent.append(message)
        return message.edit_message_id or next(self._ids)

    def to(self, chat_id: int) -> list[Outgoing]:
        return [m for m in self.sent if m.chat_id == chat_id]


class FakeClock:
    """Fake time for the delivery path: `now()` as a datetime, `monotonic()`, and a `sleep` that only advances."""

    def __init__(self, start: datetime = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)) -> None:
        self.start, self.seconds = start, 0.0

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)

    def monotonic(self) -> float:
        return self.seconds

    async def sleep(self, seconds: float) -> None:
        self.seconds += seconds


def lower_words(text: str) -> str:
    """A fast stand-in lemmatizer for index tests that do not need word forms."""
    return " ".join(text.lower().split())


__all__ = ["FakeClock", "FakeSender", "lower_words", "RetryLater", "Forbidden", "ChatMigrated"]
