"""The bot's own Telethon client (TG_BOT_TOKEN): sends alerts and digests, answers commands.

Its session file is `<TG_SESSION>-bot.session` in the data folder, next to the
user account's; a bot logs in with its token alone, so no person is needed.
"""
from __future__ import annotations

import logging
from typing import Callable

from telethon import errors as tg

from bot.errors import ConfigError, TelegramUnavailable
from bot.telegram.client import make_client, secure_session_file, session_path
from bot.telegram.errors import NETWORK_ERRORS, translated

log = logging.getLogger(__name__)


def bot_session_name(settings) -> str:
    return f"{settings.tg_session}-bot"


async def start_bot(settings, *, client_factory: Callable = make_client):
    """A connected client logged in as the bot; a refused token is one clear line."""
    name = bot_session_name(settings)
    client = client_factory(settings, name)
    try:
        async with translated("bot"):
            await client.start(bot_token=settings.tg_bot_token)
    except NETWORK_ERRORS as exc:
        raise TelegramUnavailable(f"cannot reach Telegram for the bot: {exc or type(exc).__name__}") from exc
    except (tg.AccessTokenInvalidError, tg.AccessTokenExpiredError, tg.BotMethodInvalidError) as exc:
        await client.disconnect()
        raise ConfigError(f"TG_BOT_TOKEN was refused by Telegram ({type(exc).__name__.removesuffix('Error')}): "
                          "copy it again from @BotFather") from exc
    secure_session_file(session_path(settings, name))
    log.info("bot client connected (session %s)", name)
    return client
