"""Watching follows the leases on a shared store (bot/telegram/live.py's Fleet, bot/app/live.py's
renew_leases): two processes share accounts alpha and beta on one PostgreSQL; each watches only the
account it holds; when the holder of alpha stops heartbeating, the other takes alpha after the lease
time, connects it and sweeps its channel at once (the missed post alerted once, late); a process that
loses a lease lets the account go."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from telethon import utils

from bot.app.live import renew_leases
from bot.storage import Store
from bot.storage import channels as db
from bot.storage import leases
from bot.telegram.live import LeasedAccounts, run_live
from tests.telegram.offline import T0, OfflineClient, RecordingPipeline, make_channel
from tests.telegram.test_telegram_live import live_settings, no_sleep

ALPHA_CHANNEL = make_channel(bare_id=1111, username="alpha_news", access_hash=11)
BETA_CHANNEL = make_channel(bare_id=2222, username="beta_news", access_hash=22)
LAPSED = timedelta(seconds=leases.LEASE_SECONDS + 1)


class Process:
    """One `dozor run` on the shared store: its own store connection, process id, clients and pipeline."""

    def __init__(self, store: Store, name: str, folder, accounts: list[str]):
        self.store, self.accounts, self.name = store, accounts, name
        store.process_id = f"{name}:1:x"
        folder.mkdir()
        self.settings = live_settings(folder, TG_SESSION=accounts[0], DOZOR_ACCOUNTS=",".join(accounts[1:]))
        self.clients = {"alpha": OfflineClient(ALPHA_CHANNEL), "beta": OfflineClient(BETA_CHANNEL)}
        self.made: list[str] = []  # accounts whose client this process created (connected)
        self.pipeline, self.leased, self.stop = RecordingPipeline(), LeasedAccounts(), asyncio.Event()
        self.task = None

    def client_for(self, settings, name=None):
        self.made.append(name)
        return self.clients[name]

    async def beat(self, now) -> None:
        await renew_leases(self.store, self.accounts, self.leased, now)

    def start(self) -> None:
        self.task = asyncio.create_task(run_live(self.settings, self.store, self.pipeline, self.stop,
                                                 client_factory=self.client_for, sleep=no_sleep, tick=0.005,
                                                 chunk_wait=0, leased=self.leased))

    async def halt(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 5)


async def until(check, tries: int = 600) -> None:
    for _ in range(tries):
        if check():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


async def shared(pg_url, tmp_path):
    one, two = await Store.open(pg_url), await Store.open(pg_url)
    for cid, channel, account in ((utils.get_peer_id(ALPHA_CHANNEL), ALPHA_CHANNEL, "alpha"),
                                  (utils.get_peer_id(BETA_CHANNEL), BETA_CHANNEL, "beta")):
        await db.save_channel(one, cid, username=channel.username, access_hash=channel.access_hash)
        await db.advance_last_seen(one, cid, 10, None)
        await db.assign_account(one, cid, account)
    return Process(one, "one", tmp_path / "one", ["alpha"]), Process(two, "two", tmp_path / "two", ["beta", "alpha"])


async def test_a_dead_holders_account_is_taken_over_watched_and_swept_once_late(pg_url, tmp_path):
    one, two = await shared(pg_url, tmp_path)
    try:
        await one.beat(T0)
        await two.beat(T0)
        assert (one.leased.held, two.leased.held) == ({"alpha"}, {"beta"})
        one.start()
        two.start()
        await until(lambda: one.clients["alpha"].list_event_handlers() and two.clients["beta"].list_event_handlers())
        assert one.made == ["alpha"] and two.made == ["beta"]  # nobody watches an account it does not hold
        await one.halt()  # process one dies: no more heartbeats, its lease is not released
        two.clients["alpha"].post(ALPHA_CHANNEL, 11, "пост, пока alpha никто не читал")
        await two.beat(T0 + timedelta(seconds=leases.LEASE_SECONDS / 2))  # alpha's lease has not lapsed yet
        await asyncio.sleep(0.05)
        assert two.made == ["beta"] and two.pipeline.posts == []
        await two.beat(T0 + LAPSED)
        assert two.leased.held == {"alpha", "beta"}
        await until(lambda: two.pipeline.posts)
        await until(lambda: two.clients["alpha"].list_event_handlers())
        await asyncio.sleep(0.05)  # more ticks: nothing is handed over twice
        await two.halt()
        assert [(p.channel_id, p.message_id, p.late) for p in two.pipeline.posts] == [
            (utils.get_peer_id(ALPHA_CHANNEL), 11, True)]
        assert two.made == ["beta", "alpha"] and not two.clients["alpha"].is_connected()
        swept = dict((await leases.shared_status(two.store, T0))["sweeps"])
        assert swept["alpha_news"] is not None
    finally:
        await one.store.close()
        await two.store.close()


async def test_a_process_never_watches_an_account_a_live_process_holds_and_lets_a_lost_one_go(pg_url, tmp_path):
    one, two = await shared(pg_url, tmp_path)
    try:
        await two.beat(T0)  # two holds beta and alpha
        await one.beat(T0)  # alpha is held by a live process: one waits
        assert (one.leased.held, two.leased.held) == (set(), {"alpha", "beta"})
        one.start()
        two.start()
        await until(lambda: two.clients["alpha"].list_event_handlers() and two.clients["beta"].list_event_handlers())
        await one.beat(T0 + timedelta(seconds=10))
        await two.beat(T0 + timedelta(seconds=10))
        await asyncio.sleep(0.05)
        assert one.made == [] and one.pipeline.posts == []
        late = T0 + timedelta(seconds=10) + LAPSED  # two paused past its lease: one takes alpha
        await one.beat(late)
        await until(lambda: one.clients["alpha"].list_event_handlers())
        await two.beat(late)  # two wakes up: alpha is one's now, beta is still its own
        assert two.leased.held == {"beta"}
        await until(lambda: not two.clients["alpha"].is_connected())
        assert two.clients["alpha"].list_event_handlers() == [] and two.clients["beta"].list_event_handlers()
        assert (await db.get_channel(one.store, utils.get_peer_id(ALPHA_CHANNEL))).account == "alpha"
        await one.halt()
        await two.halt()
    finally:
        await one.store.close()
        await two.store.close()
