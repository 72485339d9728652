"""Our own error types. Edges translate library errors into these (`raise … from exc`)."""
from __future__ import annotations

EXIT_USAGE = 2  # the exit code of a DozorError or a usage mistake


class DozorError(Exception):
    """Base for errors a user can act on: printed as one line, exit code 2."""


class ConfigError(DozorError):
    """A setting is missing or malformed; the message names the setting."""


class StorageError(DozorError):
    """The database cannot be opened or written."""


class SourceError(DozorError):
    """A replay file, export or input record cannot be read."""


class UsageError(DozorError):
    """What the user typed cannot be used: `str()` says what is wrong and how to write it."""


class TelegramUnavailable(DozorError):
    """Telegram cannot be reached (no network, connection refused or cut): try again later."""


class RetryLater(Exception):
    """Telegram asked us to wait (FloodWait). Retry the same request after `seconds`."""

    def __init__(self, seconds: float, what: str = ""):
        super().__init__(f"retry in {seconds:g}s{': ' + what if what else ''}")
        self.seconds = float(seconds)
        self.what = what


class Forbidden(Exception):
    """The chat blocked us, removed us, or we may not write there. Not retried."""

    def __init__(self, chat_id: int, reason: str = ""):
        super().__init__(f"chat {chat_id}: {reason or 'forbidden'}")
        self.chat_id = chat_id
        self.reason = reason


class ChatUnresolved(Exception):
    """We cannot find the chat to send to (Telethon: "Could not find the input entity").

    A lookup failure on our side (a setting, an empty session cache), not the
    chat refusing us: the subscriber stays active and its alerts stay queued.
    `setting` names the setting that chose the chat, when one did."""

    def __init__(self, chat: int | str, detail: str = "", setting: str | None = None):
        where = f" (set by {setting})" if setting else ""
        super().__init__(f"chat {chat}{where} cannot be found{': ' + detail if detail else ''}")
        self.chat = chat
        self.setting = setting


class ChatMigrated(Exception):
    """A group became a supergroup; future sends go to `new_chat_id`."""

    def __init__(self, chat_id: int, new_chat_id: int):
        super().__init__(f"chat {chat_id} migrated to {new_chat_id}")
        self.chat_id = chat_id
        self.new_chat_id = new_chat_id


class SessionInvalid(DozorError):
    """The Telegram session was revoked or duplicated: log in again."""


class DeliveryFailed(Exception):
    """A webhook or Apprise target did not take a delivery (HTTP error, timeout, redirect, refused).

    Retried with backoff like any failure; the message never holds the target's URL or secret."""
