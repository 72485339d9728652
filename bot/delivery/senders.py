"""The narrow seam between Dozor and whatever delivers a message.

A sender is one async method. The Telegram implementations live in
bot/telegram/; tests use tests/fakes.py:FakeSender. Implementations raise only
our errors: RetryLater(seconds), Forbidden(chat_id), ChatMigrated(old, new),
or any other Exception for a failure worth retrying with backoff.
"""
from __future__ import annotations

from typing import Protocol

from bot.models import Outgoing


class Sender(Protocol):
    async def send(self, message: Outgoing) -> int:
        """Send (or edit, when message.edit_message_id is set); return the message id."""
        ...
