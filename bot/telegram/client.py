"""The one way to build a Telethon client: session file in the data folder, mode 0600.

The alert sender, the bot, the watcher and `dozor login` all call `make_client`,
so every client has the same session location, device name, flood policy and
proxy (TG_PROXY, bot/telegram/proxy.py; logged without its password).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

from telethon import TelegramClient

from bot.datadir import make_private_dir
from bot.errors import ConfigError
from bot.telegram.proxy import proxy_arguments

log = logging.getLogger(__name__)

DEVICE_MODEL = "Dozor"
RETRY_DELAY = 5  # seconds between Telethon's reconnection attempts (it never stops trying)


def session_path(settings, session_name: str | None = None) -> Path:
    """<data_dir>/<name>.session (Telethon adds the suffix to the path we pass)."""
    name = session_name or settings.tg_session
    return Path(settings.data_dir) / f"{name}.session"


def secure_session_file(path: Path) -> None:
    """Session files hold the account's login: readable by the owner only."""
    if path.exists():
        os.chmod(path, 0o600)


def require_credentials(settings) -> None:
    if not settings.has_telegram:
        raise ConfigError("TG_API_ID and TG_API_HASH are not set: get them at https://my.telegram.org "
                          "(API development tools) and put them in .env")


def make_client(settings, session_name: str | None = None, *, flood_sleep_threshold: int = 0) -> TelegramClient:
    """A client for the account `session_name` (default TG_SESSION); not connected yet.

    `flood_sleep_threshold=0`: every FloodWait reaches our code as RetryLater, so
    waits are logged and paced by us, not slept silently inside Telethon.
    `connection_retries=-1`: an outage never makes the client give up (Telethon's
    default of 5 tries ended runs after ~15 s offline); the watch loop notices."""
    require_credentials(settings)
    make_private_dir(settings.data_dir)
    path = session_path(settings, session_name)
    proxy = getattr(settings, "tg_proxy", None)
    client = TelegramClient(
        str(path.with_suffix("")), settings.tg_api_id, settings.tg_api_hash,
        device_model=DEVICE_MODEL, flood_sleep_threshold=flood_sleep_threshold,
        connection_retries=-1, retry_delay=RETRY_DELAY, auto_reconnect=True,
        **proxy_arguments(proxy),
    )
    secure_session_file(path)
    if proxy is not None:
        log.info("telegram client for session %s connects through %s", path.name, proxy.redacted())
    else:
        log.debug("telegram client for session %s", path)
    return client
