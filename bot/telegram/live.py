"""`dozor run` with credentials: connect every account, catch up, watch until stopped.

Order on start: connect (a session that is not logged in stops here with a
clear message), resolve names added offline (once each, cached), spread
channels across accounts (an account joins at most 500), let each account
resolve its channels with its own access hash, join (the default; a join that
fails is logged and retried at the next refresh, the channel is polled
meanwhile), sweep history above each channel's last seen id and re-read the
recent window for edits and deletions, then register live handlers.

Then, until `stop` is set: every `tick`, reconnect accounts that lost Telegram
(never giving up: only a dead session stops Dozor) and poll the channels not
joined whose turn has come; every `interval` (DOZOR_SWEEP_INTERVAL) pick up
channels added or removed meanwhile (and a group's show_authors), sweep the
joined ones and refresh the views of posts younger than 3 days; after every
reconnection sweep and re-read everything.

On a shared store (PostgreSQL) only the accounts whose lease this process
holds are connected and watched; `Fleet` follows the leases every tick.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from bot.errors import RetryLater, SessionInvalid, TelegramUnavailable, UsageError
from bot.models import ChannelStatus
from bot.storage import accounts as access
from bot.storage import channels as db
from bot.telegram.budget import Budget
from bot.telegram.channels import ChannelRef, join, parse_channel_ref, resolve, resolve_for_account
from bot.telegram.client import make_client
from bot.telegram.errors import NETWORK_ERRORS, ChannelUnavailable, translated
from bot.telegram.outage import AccountLink
from bot.telegram.watcher import Watcher

log = logging.getLogger(__name__)

MAX_CHANNELS_PER_ACCOUNT = 500  # CHANNELS_TOO_MUCH past this (1,000 with Premium)


def account_names(settings) -> list[str]:
    names = [settings.tg_session, *settings.accounts]
    return list(dict.fromkeys(n for n in names if n))


def running_marker(settings) -> Path:
    """A file holding the pid of a running watcher, so the CLI leaves the session to it."""
    return Path(settings.data_dir) / f"{settings.tg_session}.running"


def live_is_running(settings) -> bool:
    try:
        pid = int(running_marker(settings).read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


async def connect(client, account: str) -> None:
    try:
        async with translated(f"account {account}"):
            await client.connect()
            authorized = await client.is_user_authorized()
    except NETWORK_ERRORS as exc:
        raise TelegramUnavailable(f"cannot reach Telegram for account {account}: {exc or type(exc).__name__}") from exc
    if not authorized:
        hint = "dozor login" if account == "dozor" else f"dozor login --session {account}"
        raise SessionInvalid(f"account {account} is not logged in: run `{hint}`")


async def resolve_queued(client, store, budget: Budget) -> None:
    """Names and ids added while offline: resolve each once; a failure is kept and logged."""
    queued: list[tuple[str | None, ChannelRef]] = []
    for text in await db.list_requests(store, include_failed=False):  # the bot queues what was typed
        try:
            queued.append((text, parse_channel_ref(text)))
        except UsageError as exc:
            await db.fail_request(store, text, str(exc))
    queued += [(None, ChannelRef(channel_id=row.id)) for row in await db.list_channels(store, (ChannelStatus.UNRESOLVED,))]
    for text, ref in queued:
        try:
            row = await resolve(client, store, ref, budget, actor="system")
            log.info("resolved %s to %s (%s)", ref, row.id, row.title)
        except RetryLater as exc:
            log.warning("cannot resolve %s yet: %s", ref, exc)
            continue
        except (ChannelUnavailable, UsageError) as exc:  # not retried: add it again to retry
            log.warning("cannot resolve %s: %s", ref, exc)
            if text is not None:
                await db.fail_request(store, text, str(exc))
            continue
        if text is not None:
            await db.drop_request(store, text)


async def spread(store, accounts: list[str]) -> dict[str, list]:
    """Active channels per account; new ones (and those their account cannot read) go to the least
    loaded account under 500 that has not been refused them."""
    rows = await db.list_channels(store, (ChannelStatus.ACTIVE,))
    load = {name: [r for r in rows if r.account == name] for name in accounts}
    for row in rows:
        refused = await access.accounts_refused(store, row.id) if len(accounts) > 1 else set()
        if row.account in load and row.account not in refused:
            continue
        if row.account in load:
            load[row.account].remove(row)
        candidates = [n for n in accounts if n not in refused] or accounts
        name = min(candidates, key=lambda n: len(load[n]))
        if len(load[name]) >= MAX_CHANNELS_PER_ACCOUNT:
            log.warning("%s not watched: every account has %d channels", row.label, MAX_CHANNELS_PER_ACCOUNT)
            continue
        await db.assign_account(store, row.id, name)
        load[name].append(await db.get_channel(store, row.id))
    return load


async def watch_resolved(watcher: Watcher, row) -> bool:
    """Watch `row` with this account's own access hash (resolved once per account). False if not now."""
    try:
        row = await resolve_for_account(watcher.client, watcher.store, row, watcher.account, watcher.budget,
                                        watcher.now(), main=watcher.main)
    except ChannelUnavailable as exc:
        await watcher.report_unavailable(row, exc)
        return False
    except (SessionInvalid, asyncio.CancelledError):
        raise
    except Exception as exc:  # RetryLater, network, a surprise: the next refresh tries again
        log.warning("account %s cannot resolve %s now (%s); trying again later", watcher.account, row.label,
                    exc or type(exc).__name__)
        return False
    watcher.watch(row)
    return True


async def join_missing(watcher: Watcher, rows: list) -> None:
    """Join what is not joined yet. One channel's failure is logged with it and retried at the next refresh."""
    for row in rows:
        if row.joined:
            continue
        try:
            await join(watcher.client, watcher.store, row, watcher.account, watcher.budget)
            watcher.mark_joined(row.id)
        except ChannelUnavailable as exc:
            if exc.kind != "too_many":
                await watcher.report_unavailable(row, exc)
            elif await db.warn_once(watcher.store, row.id, "too_many", watcher.now()):
                log.warning("account %s cannot join %s (500 channels already); polling it", watcher.account, row.label)
        except RetryLater as exc:
            log.warning("joining %s postponed: %s", row.label, exc)
        except (SessionInvalid, asyncio.CancelledError):
            raise
        except Exception:
            log.warning("account %s could not join %s; it is polled and the join retried at the next refresh",
                        watcher.account, row.label, exc_info=True)


def make_watcher(settings, store, pipeline, name: str, client, alert_backfill: bool, sleep: Callable,
                 chunk_wait: float, accounts: list[str]) -> Watcher:
    return Watcher(client, store, pipeline, name, Budget(name, sleep=sleep),
                   backfill_limit=settings.backfill_limit, alert_backfill=alert_backfill,
                   silence_factor=settings.silence_factor, chunk_wait=chunk_wait,
                   late_after=settings.late_after, recheck_hours=settings.recheck_hours,
                   poll_floor=settings.poll_floor, poll_ceiling=settings.sweep_interval,
                   accounts=tuple(accounts), main=name == account_names(settings)[0])


async def start_watchers(settings, store, pipeline, clients: dict, alert_backfill: bool,
                         sleep: Callable = asyncio.sleep, chunk_wait: float = 1.0,
                         spread_over: list[str] | None = None) -> list[Watcher]:
    """A watcher per client: resolve its channels, join, catch up (sweep and re-read), then go live.
    Channels are spread over `spread_over` (default: these clients' accounts)."""
    if not clients:
        return []
    accounts = spread_over or list(clients)
    watchers = [make_watcher(settings, store, pipeline, name, client, alert_backfill, sleep, chunk_wait, accounts)
                for name, client in clients.items()]
    await resolve_queued(watchers[0].client, store, watchers[0].budget)
    load = await spread(store, accounts)
    for watcher in watchers:
        for row in load.get(watcher.account, []):
            await watch_resolved(watcher, row)
        if settings.join_channels:
            await join_missing(watcher, list(watcher.channels.values()))
        fed = await watcher.sweep(recheck=True)
        log.info("account %s watches %d channels; caught up with %d posts", watcher.account, len(watcher.channels), fed)
        watcher.register()
    return watchers


async def refresh(watchers: list[Watcher], store, join_channels: bool = False,
                  spread_over: list[str] | None = None) -> None:
    """Pick up channels added, paused or removed while running, and names queued by the CLI."""
    if not watchers:
        return
    await resolve_queued(watchers[0].client, store, watchers[0].budget)
    by_account = {w.account: w for w in watchers}
    load = await spread(store, spread_over or list(by_account))
    for name, rows in load.items():
        watcher = by_account.get(name)
        if watcher is None:
            continue  # an account another process watches
        wanted = {row.id for row in rows}
        for channel_id in [c for c in watcher.channels if c not in wanted]:
            log.info("account %s stops watching %s", name, watcher.channels[channel_id].label)
            watcher.unwatch(channel_id)
        for row in rows:
            if row.id in watcher.channels:  # an admin may have turned a group's author names on or off
                watcher.channels[row.id] = replace(watcher.channels[row.id], show_authors=row.show_authors)
            elif await watch_resolved(watcher, row):
                log.info("account %s starts watching %s", name, row.label)
        if join_channels:
            await join_missing(watcher, [r for r in watcher.channels.values() if not r.joined])


async def watch_until_stopped(watchers: list[Watcher], stop: asyncio.Event, interval: float, tick: float = 5.0,
                              clock: Callable[[], float] = time.monotonic, store=None,
                              join_channels: bool = False, offline_notice_after: float = 300.0,
                              fleet: "Fleet | None" = None) -> None:
    """Tick until stopped: sweeps every `interval`, reconnection sweeps, polls. With a `fleet`, every
    tick first follows its leases (accounts started or let go) and watches the fleet's watchers."""
    links: dict[Watcher, AccountLink] = {}
    next_sweep = clock() + interval
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=tick)
            break
        except asyncio.TimeoutError:
            pass
        if fleet is not None:
            watchers = await fleet.follow_leases()
        due = clock() >= next_sweep
        if due and store is not None:
            try:
                await refresh(watchers, store, join_channels, fleet.spread_over() if fleet else None)
            except NETWORK_ERRORS as exc:  # offline: the next refresh picks the changes up
                log.info("picking up channel changes waits for the connection: %s", exc or type(exc).__name__)
        links = {w: links.get(w) or AccountLink(w.client, w.store, w.account, offline_notice_after, clock, w.now)
                 for w in watchers}
        for watcher, link in links.items():
            back = await link.check()
            if link.offline_since is not None:
                continue  # nothing can be read; the sweep after the return catches up
            if back:
                await watcher.sweep(recheck=True)
            elif due:
                await watcher.sweep(only=lambda row: row.joined)
            await watcher.poll_due(clock())
            if due:
                await watcher.refresh_reach()
                await watcher.check_silence()
        if due:
            next_sweep = clock() + interval


@dataclass
class LeasedAccounts:
    """On a shared store, the accounts this process holds a lease on, kept current by bot/app/live.py
    from the lease heartbeat (bot/storage/leases.py): `held` are watched, and channels are spread over
    `known` (every account with a lease) too, so none is taken from an account another process watches."""

    held: set[str] = field(default_factory=set)
    known: set[str] = field(default_factory=set)


class Fleet:
    """This process's accounts: a connected client and a watcher each. Without leases (SQLite: one
    process) every configured account. With `leased`, only the held ones: an account newly held
    (free, or taken over from a process that stopped heartbeating) is connected and swept at once,
    so posts missed meanwhile are alerted late; one no longer held is let go (handlers removed,
    client disconnected), so two processes never use one session at once (AUTH_KEY_DUPLICATED)."""

    def __init__(self, settings, store, pipeline, client_factory: Callable, alert_backfill: bool,
                 sleep: Callable, chunk_wait: float, leased: LeasedAccounts | None = None, sender=None):
        self.settings, self.store, self.pipeline, self.leased = settings, store, pipeline, leased
        self.sender = sender  # the client that also sends the alerts: an account let go keeps it connected
        self.client_factory, self.alert_backfill, self.sleep, self.chunk_wait = (client_factory, alert_backfill,
                                                                                 sleep, chunk_wait)
        self.clients: dict = {}
        self.watchers: list[Watcher] = []

    def wanted(self) -> list[str]:
        names = account_names(self.settings)
        return names if self.leased is None else [n for n in names if n in self.leased.held]

    def spread_over(self) -> list[str]:
        names = account_names(self.settings)
        return names if self.leased is None else list(dict.fromkeys([*names, *sorted(self.leased.known)]))

    async def start(self, names: list[str]) -> None:
        """Connect `names` and start their watchers (catch-up sweep first). SessionInvalid propagates."""
        fresh: dict = {}
        try:
            for name in names:
                fresh[name] = self.clients[name] = self.client_factory(self.settings, name)
                await connect(fresh[name], name)
        except BaseException:
            for name in fresh:
                await self.disconnect(name)
            raise
        self.watchers += await start_watchers(self.settings, self.store, self.pipeline, fresh, self.alert_backfill,
                                              self.sleep, self.chunk_wait, self.spread_over())

    async def follow_leases(self) -> list[Watcher]:
        """Let go of the accounts no longer held, start the ones newly held; the watchers to run."""
        if self.leased is None:
            return self.watchers
        for watcher in [w for w in self.watchers if w.account not in self.leased.held]:
            log.warning("account %s is held by another process now: no longer watching it", watcher.account)
            await self.let_go(watcher)
        new = [n for n in self.wanted() if n not in self.clients]
        if new:
            log.info("watching account(s) %s: this process holds their lease now", ", ".join(new))
            try:
                await self.start(new)
            except TelegramUnavailable as exc:  # Telegram unreachable: the next tick tries again
                log.warning("%s; trying again shortly", exc)
        return self.watchers

    async def let_go(self, watcher: Watcher) -> None:
        watcher.unregister()
        await watcher.stop()
        self.watchers.remove(watcher)
        if watcher.client is self.sender:
            self.clients.pop(watcher.account, None)
        else:
            await self.disconnect(watcher.account)

    async def disconnect(self, name: str) -> None:
        client = self.clients.pop(name, None)
        try:
            if client is not None:
                await client.disconnect()
        except Exception:  # closing anyway; nothing left to save
            log.debug("disconnecting account %s failed", name, exc_info=True)

    async def close(self) -> None:
        for watcher in self.watchers:
            await watcher.stop()
        self.watchers = []
        for name in list(self.clients):
            await self.disconnect(name)


async def run_live(settings, store, pipeline, stop: asyncio.Event, alert_backfill: bool = False, *,
                   client_factory: Callable = make_client, sleep: Callable = asyncio.sleep,
                   tick: float = 5.0, chunk_wait: float = 1.0, leased: LeasedAccounts | None = None,
                   sender=None) -> None:
    """Watch every configured account (with `leased`, the held ones: see Fleet) until `stop` is set.
    SessionInvalid stops with a clear message. `sender`: a client `client_factory` may return that also
    sends the alerts (kept connected when its account is let go)."""
    fleet = Fleet(settings, store, pipeline, client_factory, alert_backfill, sleep, chunk_wait, leased, sender)
    marker = running_marker(settings)
    try:
        await fleet.start(fleet.wanted())
        marker.write_text(str(os.getpid()))
        if leased is None and not any(w.channels for w in fleet.watchers):
            log.warning("no channels to watch yet: add some with `dozor channels add @name`")
        await watch_until_stopped(fleet.watchers, stop, settings.sweep_interval, tick, store=store,
                                  join_channels=settings.join_channels,
                                  offline_notice_after=settings.offline_notice_after,
                                  fleet=fleet if leased is not None else None)
    finally:
        marker.unlink(missing_ok=True)
        await fleet.close()
    log.info("live watcher stopped")
