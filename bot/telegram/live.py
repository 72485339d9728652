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
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import replace
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


async def start_watchers(settings, store, pipeline, clients: dict, alert_backfill: bool,
                         sleep: Callable = asyncio.sleep, chunk_wait: float = 1.0) -> list[Watcher]:
    budgets = {name: Budget(name, sleep=sleep) for name in clients}
    first = next(iter(clients))
    await resolve_queued(clients[first], store, budgets[first])
    watchers = []
    for name, rows in (await spread(store, list(clients))).items():
        watcher = Watcher(clients[name], store, pipeline, name, budgets[name],
                          backfill_limit=settings.backfill_limit, alert_backfill=alert_backfill,
                          silence_factor=settings.silence_factor, chunk_wait=chunk_wait,
                          late_after=settings.late_after, recheck_hours=settings.recheck_hours,
                          poll_floor=settings.poll_floor, poll_ceiling=settings.sweep_interval,
                          accounts=tuple(clients), main=name == first)
        for row in rows:
            await watch_resolved(watcher, row)
        if settings.join_channels:
            await join_missing(watcher, list(watcher.channels.values()))
        fed = await watcher.sweep(recheck=True)
        log.info("account %s watches %d channels; caught up with %d posts", name, len(watcher.channels), fed)
        watcher.register()
        watchers.append(watcher)
    return watchers


async def refresh(watchers: list[Watcher], store, join_channels: bool = False) -> None:
    """Pick up channels added, paused or removed while running, and names queued by the CLI."""
    if not watchers:
        return
    await resolve_queued(watchers[0].client, store, watchers[0].budget)
    by_account = {w.account: w for w in watchers}
    load = await spread(store, list(by_account))
    for name, rows in load.items():
        watcher = by_account[name]
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
                              sweep_now: set[str] | None = None) -> None:
    """Tick until stopped: sweeps every `interval`, reconnection sweeps, polls. An account name put
    in `sweep_now` (a lease taken over from a dead process) is swept on the next tick, late-marked."""
    sweep_now = sweep_now if sweep_now is not None else set()
    links = [AccountLink(w.client, w.store, w.account, offline_notice_after, clock, w.now) for w in watchers]
    next_sweep = clock() + interval
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=tick)
            break
        except asyncio.TimeoutError:
            pass
        due = clock() >= next_sweep
        if due and store is not None:
            try:
                await refresh(watchers, store, join_channels)
            except NETWORK_ERRORS as exc:  # offline: the next refresh picks the changes up
                log.info("picking up channel changes waits for the connection: %s", exc or type(exc).__name__)
        for watcher, link in zip(watchers, links):
            back = await link.check()
            if link.offline_since is not None:
                continue  # nothing can be read; the sweep after the return catches up
            if back or watcher.account in sweep_now:
                sweep_now.discard(watcher.account)
                await watcher.sweep(recheck=True)
            elif due:
                await watcher.sweep(only=lambda row: row.joined)
            await watcher.poll_due(clock())
            if due:
                await watcher.refresh_reach()
                await watcher.check_silence()
        if due:
            next_sweep = clock() + interval


async def run_live(settings, store, pipeline, stop: asyncio.Event, alert_backfill: bool = False, *,
                   client_factory: Callable = make_client, sleep: Callable = asyncio.sleep,
                   tick: float = 5.0, chunk_wait: float = 1.0, sweep_now: set[str] | None = None) -> None:
    """Watch every configured account until `stop` is set. SessionInvalid stops with a clear message.
    `sweep_now`: account names to sweep at once (see watch_until_stopped)."""
    clients: dict = {}
    watchers: list[Watcher] = []
    marker = running_marker(settings)
    try:
        for name in account_names(settings):
            clients[name] = client_factory(settings, name)
            await connect(clients[name], name)
        marker.write_text(str(os.getpid()))
        watchers = await start_watchers(settings, store, pipeline, clients, alert_backfill, sleep, chunk_wait)
        if not any(w.channels for w in watchers):
            log.warning("no channels to watch yet: add some with `dozor channels add @name`")
        await watch_until_stopped(watchers, stop, settings.sweep_interval, tick, store=store,
                                  join_channels=settings.join_channels,
                                  offline_notice_after=settings.offline_notice_after, sweep_now=sweep_now)
    finally:
        marker.unlink(missing_ok=True)
        for watcher in watchers:
            await watcher.stop()
        for name, client in clients.items():
            try:
                await client.disconnect()
            except Exception:  # closing anyway; nothing left to save
                log.debug("disconnecting account %s failed", name, exc_info=True)
    log.info("live watcher stopped")
