"""One account's connection as the watch loop sees it: outages never end `dozor run`.

Telethon clients are built to reconnect forever (`make_client`); should one
still end up disconnected (its own loop gave up), `AccountLink.check` connects
it again, waiting 1, 2, 4 … up to MAX_BACKOFF seconds between tries. Only a
revoked or logged-out session raises (SessionInvalid). An account offline
longer than `notice_after` seconds leaves an "offline" notice for the admins,
and a "back" notice when it returns; the watch loop sweeps after every return.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from bot.errors import DozorError
from bot.storage import accounts as db
from bot.telegram.errors import NETWORK_ERRORS, translate, translated

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0


def connection_alive(client) -> bool:
    """Connected right now (Telethon reconnects by itself; this sees the gap)."""
    sender = getattr(client, "_sender", None)
    transport = getattr(sender, "_transport_connected", None)
    return bool(client.is_connected() and (transport is None or transport()))


def raise_if_dead(client, account: str) -> None:
    """Telethon's update loop stops on a fatal error (e.g. AuthKeyDuplicated): that one stops Dozor."""
    error = getattr(client, "_updates_error", None)
    if client.is_connected() or error is None:
        return
    ours = translate(error, f"account {account}")
    if isinstance(ours, DozorError):
        raise ours from error


class AccountLink:
    def __init__(self, client, store, account: str, notice_after: float, clock: Callable[[], float],
                 now: Callable[[], datetime]):
        self.client, self.store, self.account = client, store, account
        self.notice_after, self.clock, self.now = notice_after, clock, now
        self.offline_since: datetime | None = None
        self.told = False
        self._next_try = 0.0
        self._backoff = 1.0

    async def check(self) -> bool:
        """Reconnect if needed, record outages; True when the connection has just come back."""
        if not self.client.is_connected():
            raise_if_dead(self.client, self.account)
            await self._reconnect()
        return await self._observe(connection_alive(self.client))

    async def _reconnect(self) -> None:
        if self.clock() < self._next_try:
            return
        try:
            async with translated(f"account {self.account}"):
                await self.client.connect()
        except NETWORK_ERRORS as exc:
            log.info("account %s: reconnecting failed (%s); next try in %.0f s", self.account,
                     exc or type(exc).__name__, self._backoff)
            self._next_try = self.clock() + self._backoff
            self._backoff = min(self._backoff * 2, MAX_BACKOFF)
            return
        self._backoff = 1.0

    async def _observe(self, alive: bool) -> bool:
        now = self.now()
        if not alive:
            if self.offline_since is None:
                self.offline_since = now
                log.warning("account %s lost its connection to Telegram; reconnecting", self.account)
            elif not self.told and (now - self.offline_since).total_seconds() >= self.notice_after:
                self.told = True
                await db.add_account_notice(self.store, self.account, "offline", self.offline_since, now)
            return False
        if self.offline_since is None:
            return False
        log.info("account %s is connected again after %s; sweeping for missed posts", self.account,
                 now - self.offline_since)
        if self.told:
            await db.add_account_notice(self.store, self.account, "back", self.offline_since, now)
        self.offline_since, self.told = None, False
        return True
