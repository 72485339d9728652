"""Telethon errors become ours where they come in; nothing outside bot/telegram sees them.

    async with translated("history of @name", channel_id):
        ...  # FloodWaitError -> RetryLater, revoked session -> SessionInvalid,
             # private/banned/unknown channel -> ChannelUnavailable
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from telethon import errors as tg

from bot.errors import DozorError, RetryLater, SessionInvalid

LOGIN_AGAIN = "the Telegram session stopped working ({reason}); run `dozor login` again"

def _errors(*names: str) -> tuple[type, ...]:
    return tuple(getattr(tg, n) for n in names if hasattr(tg, n))


# The one table of Telethon errors, by what they mean for us (the sender uses it too).
FLOOD = _errors("FloodWaitError", "FloodPremiumWaitError", "SlowModeWaitError")
# Our own account or bot is logged out, revoked or deactivated: only `dozor login` helps.
SESSION_DEAD = _errors(
    "AuthKeyDuplicatedError", "AuthKeyUnregisteredError", "AuthKeyInvalidError", "SessionRevokedError",
    "SessionExpiredError", "UserDeactivatedError", "UserDeactivatedBanError",
)
# Sending: the chat blocked us, removed us, or we may not write there.
SEND_FORBIDDEN = _errors(
    "UserIsBlockedError", "ChatWriteForbiddenError", "ChannelPrivateError", "ChatForbiddenError",
    "InputUserDeactivatedError", "ChatAdminRequiredError", "ChatRestrictedError",
    "UserBannedInChannelError", "UserKickedError", "ChatSendPlainForbiddenError", "ChatGuestSendForbiddenError",
    "ChannelInvalidError", "UserIsBotError", "BotGroupsBlockedError",
)
# Sending: the id is unknown to Telegram; a basic group that became a supergroup says where it went.
SEND_MAYBE_MIGRATED = _errors("PeerIdInvalidError", "ChatIdInvalidError", "ChatInvalidError")
_FLOOD, _SESSION_DEAD = FLOOD, SESSION_DEAD
_PRIVATE = (tg.ChannelPrivateError, tg.InviteHashExpiredError)
_BANNED = tuple(getattr(tg, n) for n in ("ChannelBannedError", "UserBannedInChannelError",
                                         "ChannelPublicGroupNaError") if hasattr(tg, n))
_NOT_FOUND = (tg.UsernameNotOccupiedError, tg.UsernameInvalidError)
# The id or access hash is not valid for this account: resolve the name again before giving up.
_INVALID = (tg.ChannelInvalidError, tg.PeerIdInvalidError)


def is_unknown_entity(exc: BaseException) -> bool:
    """Telethon's ValueError for a chat it cannot find (not in its cache, no such name): our lookup failed."""
    return isinstance(exc, ValueError) and not isinstance(exc, tg.RPCError)


# What a connection that cannot be made raises in Telethon (no route, refused, cut mid-handshake).
NETWORK_ERRORS = (OSError, EOFError, TimeoutError, ConnectionError)


class ChannelUnavailable(DozorError):
    """A channel cannot be read: `kind` is private, banned, not_found, invalid or too_many."""

    def __init__(self, what: str, kind: str, channel_id: int | None = None):
        reasons = {
            "private": "is private or the account was removed from it",
            "banned": "is banned or unavailable to this account",
            "not_found": "does not exist (check the name)",
            "invalid": "is not known to this account under the id and access hash we hold",
            "too_many": "cannot be joined: the account is in 500 channels already",
        }
        super().__init__(f"{what} {reasons.get(kind, kind)}")
        self.kind = kind
        self.channel_id = channel_id


def translate(exc: BaseException, what: str = "", channel_id: int | None = None) -> BaseException:
    """Our error for a Telethon error, or `exc` itself when it has no meaning for us."""
    if isinstance(exc, _FLOOD):
        return RetryLater(getattr(exc, "seconds", 1) or 1, what)
    if isinstance(exc, _SESSION_DEAD):
        return SessionInvalid(LOGIN_AGAIN.format(reason=type(exc).__name__.removesuffix("Error")))
    if isinstance(exc, _PRIVATE):
        return ChannelUnavailable(what, "private", channel_id)
    if isinstance(exc, _BANNED):
        return ChannelUnavailable(what, "banned", channel_id)
    if isinstance(exc, _NOT_FOUND):
        return ChannelUnavailable(what, "not_found", channel_id)
    if isinstance(exc, _INVALID):
        return ChannelUnavailable(what, "invalid", channel_id)
    if isinstance(exc, tg.ChannelsTooMuchError):
        return ChannelUnavailable(what, "too_many", channel_id)
    return exc


@asynccontextmanager
async def translated(what: str = "", channel_id: int | None = None) -> AsyncIterator[None]:
    """Re-raise Telethon errors raised inside as ours (`raise … from exc`)."""
    try:
        yield
    except tg.RPCError as exc:
        ours = translate(exc, what, channel_id)
        if ours is exc:
            raise
        raise ours from exc
