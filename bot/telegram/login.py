"""`dozor login`: a person types the phone number, the code and the 2FA password once.

The session file then lives in the data folder (mode 0600) and serves every
later run. Telethon can no longer sign up new accounts: use an existing one.
"""
from __future__ import annotations

import getpass
import logging
from typing import Callable

from telethon import errors as tg

from bot.errors import DozorError, TelegramUnavailable
from bot.telegram.client import make_client, secure_session_file, session_path
from bot.telegram.errors import NETWORK_ERRORS, translated

log = logging.getLogger(__name__)


async def login(settings, session_name: str | None = None, phone: str | None = None, *,
                ask: Callable[[str], str] = input, ask_secret: Callable[[str], str] = getpass.getpass,
                client_factory: Callable = make_client) -> str:
    """Log the account in (or confirm it is); returns who it is, e.g. 'Anna (@anna, id 123)'."""
    client = client_factory(settings, session_name)
    try:
        async with translated("login"):
            await client.start(
                phone=lambda: phone or ask("Phone number of the Telegram account (e.g. +79001234567): "),
                code_callback=lambda: ask("Login code Telegram sent to your app: "),
                password=lambda: ask_secret("Two-step verification password: "),
            )
            me = await client.get_me()
    except NETWORK_ERRORS as exc:
        raise TelegramUnavailable(f"cannot reach Telegram: {exc or type(exc).__name__}") from exc
    except (tg.PhoneNumberInvalidError, tg.PhoneCodeInvalidError, tg.PhoneCodeExpiredError,
            tg.PasswordHashInvalidError) as exc:
        raise DozorError(f"login failed: {exc.__class__.__name__.removesuffix('Error')}; run `dozor login` again") from exc
    except RuntimeError as exc:  # Telethon gives up after several wrong codes this way
        raise DozorError(f"login failed: {exc}") from exc
    finally:
        await client.disconnect()
    secure_session_file(session_path(settings, session_name))
    name = " ".join(p for p in (getattr(me, "first_name", None), getattr(me, "last_name", None)) if p) or "account"
    handle = f"@{me.username}, " if getattr(me, "username", None) else ""
    return f"{name} ({handle}id {me.id})"
