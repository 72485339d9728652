"""The sender chain: the narrow seam between Dozor and whatever delivers a message, and its wrappers.

A sender is one async method. The Telegram implementations live in
bot/telegram/; tests use tests/fakes.py:FakeSender. Implementations raise only
our errors: RetryLater(seconds), Forbidden(chat_id), ChatMigrated(old, new),
or any other Exception for a failure worth retrying with backoff.

`sender_chain` assembles what `dozor run` sends through, in one place:

    live:     SessionGuard -> LimitedSender (rate limits, FloodWait) -> the Telegram sender
    dry run:  DryRunSender (prints, sends nothing)
    targets:  LimitedSender (one limit per webhook or Apprise URL) -> WebhookTransport / AppriseTransport,
              assembled by bot/delivery/target_sink.py:target_senders

The outbox worker uses `alerts` (a long rate-limit wait postpones the row);
digests, notices and command replies use `patient` (they wait for the slot).
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import sys
import time
from dataclasses import dataclass
from typing import Callable, Protocol, TextIO

from bot.delivery.ratelimit import RateLimiter
from bot.errors import RetryLater, SessionInvalid
from bot.models import Outgoing

log = logging.getLogger(__name__)
PATIENT_WAIT = 60.0  # digests and notices wait for the rate limit rather than give up


class Sender(Protocol):
    async def send(self, message: Outgoing) -> int:
        """Send (or edit, when message.edit_message_id is set); return the message id."""
        ...


class LimitedSender:
    """A Sender that keeps to the RateLimiter: wrap the Telegram sender once, share it.

    A wait up to `max_wait` seconds is slept here; a longer one raises
    RetryLater(wait) so the outbox worker postpones that row and goes on with
    other chats (postponing costs no attempt). A FloodWait from Telegram pauses
    that chat in the limiter and is re-raised. `monotonic` and `sleep` are
    injected so tests drive a fake clock.
    """

    def __init__(self, sender: Sender, limiter: RateLimiter, *, max_wait: float = 0.5,
                 monotonic: Callable[[], float] = time.monotonic, sleep=asyncio.sleep):
        self.sender = sender
        self.limiter = limiter
        self.max_wait = max_wait
        self.monotonic = monotonic
        self.sleep = sleep

    async def send(self, message: Outgoing) -> int:
        chat_id = message.chat_id
        wait = self.limiter.delay(chat_id, self.monotonic())
        while wait > 0:
            if wait > self.max_wait:
                raise RetryLater(wait, f"rate limit for chat {chat_id}")
            await self.sleep(wait)
            wait = self.limiter.delay(chat_id, self.monotonic())
        self.limiter.record(chat_id, self.monotonic())  # reserve the slot before awaiting Telegram
        try:
            return await self.sender.send(message)
        except RetryLater as exc:
            self.limiter.pause(chat_id, exc.seconds, self.monotonic())
            raise


class DryRunSender:
    """A Sender for `--dry-run`: prints each message (HTML, buttons, edits) and sends nothing."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream
        self._ids = itertools.count(1)

    async def send(self, message: Outgoing) -> int:
        message_id = message.edit_message_id or next(self._ids)
        action = f"edit of message {message_id}" if message.edit_message_id else f"message {message_id}"
        flags = " (silent)" if message.silent else ""
        lines = [f"--- to chat {message.chat_id}: {action}{flags}", message.html]
        if message.photo is not None:
            lines.append(f"[photo: {len(message.photo)} bytes]")
        if message.document is not None:
            lines.append(f"[file {message.document[0]}: {len(message.document[1])} bytes]")
        for row in message.buttons:
            lines.append("  ".join(f"[{b.text} -> {b.data}]" for b in row))
        print("\n".join(lines), file=self.stream or sys.stdout, flush=True)
        return message_id


class SessionGuard:
    """The sending client's session died: stop the app with that message rather than park every alert."""

    def __init__(self, sender: Sender):
        self.sender = sender
        self.error: SessionInvalid | None = None
        self.stop: asyncio.Event | None = None

    async def send(self, message: Outgoing) -> int:
        try:
            return await self.sender.send(message)
        except SessionInvalid as exc:
            if self.error is None:
                log.error("the sending session stopped working: %s", exc)
            self.error = exc
            if self.stop is not None:
                self.stop.set()
            raise


@dataclass
class SenderChain:
    """The senders `dozor run` uses; `guard` is None in a dry run (nothing to guard)."""

    alerts: Sender
    patient: Sender
    guard: SessionGuard | None = None


def sender_chain(settings, sender: Sender | None = None, *, out: TextIO | None = None) -> SenderChain:
    """guard -> rate limit -> `sender`, with one limiter shared by alerts and patient sends;
    without a sender, the dry run's printer (to `out`, default stdout)."""
    if sender is None:
        printer = DryRunSender(out)
        return SenderChain(printer, printer)
    guard = SessionGuard(sender)
    limiter = RateLimiter.from_settings(settings)
    return SenderChain(LimitedSender(guard, limiter), LimitedSender(guard, limiter, max_wait=PATIENT_WAIT), guard)
