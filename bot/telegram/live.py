"""`dozor run` with credentials: connect every account, catch up, watch until stopped.

Order on start: connect (a session that is not logged in stops here with a
clear message), resolve names added offline (once each, cached), spread
channels across accounts (an account joins at most 500), join if configured,
sweep history above each channel's last seen id, then register live handlers.
Then sweep on a timer and whenever a connection comes back, until `stop` is set.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Callable

from bot.errors import DozorError, RetryLater, SessionInvalid, SourceError
from bot.storage import channels as db
from bot.telegram.budget import Budget
from bot.telegram.channels import ChannelRef, join, parse_channel_ref, resolve
from bot.telegram.client import make_client
from bot.telegram.errors import NETWORK_ERRORS, ChannelUnavailable, translate, translated
from bot.telegram.watcher import Watcher

log = logging.getLogger(__name__)

MAX_CHANNELS_PER_ACCOUNT = 500  # CHANNELS_TOO_MUCH past this (1,000 with Premium)


def account_names(settings) -> list[str]:
    names = [settings.tg_session, *settings.accounts]
    return list(dict.fromkeys(n for n in names if n))


def connection_alive(client) -> bool:
    """Connected right now (Telethon reconnects by itself; this sees the gap)."""
    sender = getattr(client, "_sender", None)
    transport = getattr(sender, "_transport_connected", None)
    return bool(client.is_connected() and (transport is None or transport()))


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
        raise SourceError(f"cannot reach Telegram for account {account}: {exc or type(exc).__name__}") from exc
    if not authorized:
        hint = "dozor login" if account == "dozor" else f"dozor login --session {account}"
        raise SessionInvalid(f"account {account} is not logged in: run `{hint}`")


async def resolve_queued(client, store, budget: Budget) -> None:
    """Names and ids added while offline: resolve each once; a failure is kept and logged."""
    queued: list[tuple[str | None, ChannelRef]] = []
    for text in await db.list_requests(store, include_failed=False):  # the bot queues what was typed
        try:
            queued.append((text, parse_channel_ref(text)))
        except SourceError as exc:
            await db.fail_request(store, text, str(exc))
    queued += [(None, ChannelRef(channel_id=row.id)) for row in await db.list_channels(store, ("unresolved",))]
    for text, ref in queued:
        try:
            row = await resolve(client, store, ref, budget, actor="system")
            log.info("resolved %s to %s (%s)", ref, row.id, row.title)
        except RetryLater as exc:
            log.warning("cannot resolve %s yet: %s", ref, exc)
            continue
        except SourceError as exc:  # not retried: add it again to retry
            log.warning("cannot resolve %s: %s", ref, exc)
            if text is not None:
                await db.fail_request(store, text, str(exc))
            continue
        if text is not None:
            await db.drop_request(store, text)


async def spread(store, accounts: list[str]) -> dict[str, list]:
    """Active channels per account; new ones go to the least loaded account under 500."""
    rows = await db.list_channels(store, ("active",))
    load = {name: [r for r in rows if r.account == name] for name in accounts}
    for row in rows:
        if row.account in load:
            continue
        name = min(accounts, key=lambda n: len(load[n]))
        if len(load[name]) >= MAX_CHANNELS_PER_ACCOUNT:
            log.warning("%s not watched: every account has %d channels", row.label, MAX_CHANNELS_PER_ACCOUNT)
            continue
        await db.assign_account(store, row.id, name)
        load[name].append(await db.get_channel(store, row.id))
    return load


async def join_missing(watcher: Watcher, rows: list) -> None:
    for row in rows:
        if row.joined:
            continue
        try:
            await join(watcher.client, watcher.store, row, watcher.account, watcher.budget)
        except ChannelUnavailable as exc:
            if exc.kind != "too_many":
                await watcher.report_unavailable(row, exc)
            elif await db.warn_once(watcher.store, row.id, "too_many", watcher.now()):
                log.warning("account %s cannot join %s (500 channels already); polling it", watcher.account, row.label)
        except RetryLater as exc:
            log.warning("joining %s postponed: %s", row.label, exc)


async def start_watchers(settings, store, pipeline, clients: dict, alert_backfill: bool,
                         sleep: Callable = asyncio.sleep, chunk_wait: float = 1.0) -> list[Watcher]:
    budgets = {name: Budget(name, sleep=sleep) for name in clients}
    first = next(iter(clients))
    await resolve_queued(clients[first], store, budgets[first])
    watchers = []
    for name, rows in (await spread(store, list(clients))).items():
        watcher = Watcher(clients[name], store, pipeline, name, budgets[name],
                          backfill_limit=settings.backfill_limit, alert_backfill=alert_backfill,
                          silence_factor=settings.silence_factor, chunk_wait=chunk_wait)
        for row in rows:
            watcher.watch(row)
        if settings.join_channels:
            await join_missing(watcher, rows)
        fed = await watcher.sweep()
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
            if row.id not in watcher.channels:
                log.info("account %s starts watching %s", name, row.label)
                watcher.watch(row)
        if join_channels:
            await join_missing(watcher, [r for r in rows if not r.joined and r.id in watcher.channels])


def raise_if_dead(client, account: str) -> None:
    """Telethon's update loop stops on a fatal error (e.g. AuthKeyDuplicated): say why, once."""
    if client.is_connected():
        return
    error = getattr(client, "_updates_error", None)
    ours = translate(error, f"account {account}") if error is not None else None
    if isinstance(ours, DozorError):
        raise ours from error
    raise SourceError(f"account {account} lost its connection to Telegram"
                      + (f": {error}" if error else "") + "; restart `dozor run`")


async def watch_until_stopped(watchers: list[Watcher], stop: asyncio.Event, interval: float, tick: float = 5.0,
                              clock: Callable[[], float] = time.monotonic, store=None,
                              join_channels: bool = False) -> None:
    alive = {w.account: True for w in watchers}
    next_sweep = clock() + interval
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=tick)
            break
        except asyncio.TimeoutError:
            pass
        due = clock() >= next_sweep
        if due and store is not None:
            await refresh(watchers, store, join_channels)
        for watcher in watchers:
            raise_if_dead(watcher.client, watcher.account)
            now_alive = connection_alive(watcher.client)
            back = now_alive and not alive[watcher.account]
            alive[watcher.account] = now_alive
            if back:
                log.info("account %s is connected again; sweeping for missed posts", watcher.account)
            if (due or back) and now_alive:
                await watcher.sweep()
            if due:
                await watcher.check_silence()
        if due:
            next_sweep = clock() + interval


async def run_live(settings, store, pipeline, stop: asyncio.Event, alert_backfill: bool = False, *,
                   client_factory: Callable = make_client, sleep: Callable = asyncio.sleep,
                   tick: float = 5.0, chunk_wait: float = 1.0) -> None:
    """Watch every configured account until `stop` is set. SessionInvalid stops with a clear message."""
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
                                  join_channels=settings.join_channels)
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
