"""`dozor run` with credentials: the watcher, the pipeline, delivery, commands and digests, together.

    watcher (user accounts) ─► Pipeline ─► outbox ─► OutboxWorker ─► TelegramAlertSink ─► sender chain
                  (posts, and edits/deletions as follow-up rows)         (bot/delivery/senders.py)
                                                     └─► a TargetLane per webhook / Apprise subscriber
                                                         ─► TargetAlertSink (bot/delivery/lanes.py)
    bot client ─► commands (a rule change recompiles the pipeline's rules)
    DigestScheduler ─► sender (chats), the targets' senders (webhook/Apprise digests);  housekeeping: operator warnings and parked alerts ─► admins,
    and the lemma index that backtests and /search read

The sender is the bot (TG_BOT_TOKEN) or, without a token, the user account
writing to DOZOR_ALERT_CHAT. `--dry-run` sends nothing: a local subscriber
(chat 0) gets every alert, printed as the HTML that would be sent, and the
real subscribers' rows (follow-ups of their alerts included) stay pending for
a later real run; commands and digests are off. When the dry run ends its terminal
subscriber is retired (inactive, unsent rows parked), and a real run serves
only Telegram chats, never a terminal a replay or dry run left behind. Stop (SIGINT/SIGTERM, or `stop` set): the
current post finishes, the worker finishes its row, the scheduler stops,
clients disconnect; the caller closes the database.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Callable, TextIO

from bot.app.housekeeping import AdminNotices, SubscriberSync
from bot.app.rules import RULES_POLL, RulesWatcher, load_live_rules, require_enabled_rules, rules_reloader
from bot.clock import Clock, utc_now
from bot.delivery.lanes import DeliveryLanes, TargetLane
from bot.delivery.senders import SenderChain, SessionGuard, sender_chain
from bot.delivery.target_sink import TargetAlertSink, target_senders
from bot.delivery.telegram_sink import TelegramAlertSink
from bot.delivery.worker import OutboxWorker
from bot.digest.scheduler import DigestScheduler
from bot.errors import DozorError
from bot.models import LOCAL_CHAT_ID, TARGET_KINDS, TELEGRAM_KINDS, SubscriberKind
from bot.pipeline import Pipeline
from bot.settings import Settings
from bot.storage.access import ensure_alert_chat_subscriber, retire_local_subscriber
from bot.storage import leases
from bot.storage.db import Store
from bot.storage.lemma_index import refresh_lemma_index
from bot.storage.subscribers import count_active, ensure_local_subscriber
from bot.telegram.bot_client import start_bot
from bot.telegram.bot_handlers import install_bot_handlers
from bot.telegram.client import make_client
from bot.telegram.live import LeasedAccounts, account_names, connect, run_live
from bot.telegram.sender import make_sender, resolve_alert_chat

if TYPE_CHECKING:  # types only: the scheduler module imports APScheduler, loaded only when digests are on
    from bot.digest.scheduler import DigestScheduler
    from bot.telegram.client import TelegramClient

log = logging.getLogger(__name__)
NOBODY_ALERTED = ("NO ACTIVE SUBSCRIBERS: matches are stored but nobody is alerted. Add a chat with "
                  "`dozor subscribers add CHAT_ID` (or have it /start the bot) or a target with `dozor subscribers "
                  "add --webhook URL`, or run without TG_BOT_TOKEN to alert DOZOR_ALERT_CHAT")
LIVE_KINDS = TELEGRAM_KINDS + TARGET_KINDS  # who `dozor run` alerts: Telegram chats, webhooks, Apprise URLs
MAX_RESTARTS = 5  # a background task (outbox, housekeeping) restarted this often in a row, then the app stops
STEADY_RUN = 600.0  # seconds a background task ran before its failure counts as a new one


@dataclass
class LiveOptions:
    """What `dozor run` decides, and the seams tests replace (clients, clock, sleeps, output)."""

    dry_run: bool = False
    alert_backfill: bool = False
    client_factory: Callable | None = None  # (settings, session name) -> user client; None = make_client
    bot_factory: Callable | None = None  # async (settings) -> connected bot client; None = start_bot
    clock: Clock = utc_now
    sleep: Callable = asyncio.sleep
    tick: float = 5.0  # the watcher's loop
    chunk_wait: float = 1.0
    housekeeping_every: float = 30.0  # operator notices and digest re-scheduling
    rules_every: float = RULES_POLL  # seconds between looks at the rules version
    out: TextIO | None = None  # where --dry-run prints (default stdout)
    digests: bool = True


@dataclass
class LiveApp:
    """Everything `dozor run` runs live, built by `build_live_app`; `run(stop)` until stopped."""

    settings: Settings
    store: Store
    options: LiveOptions
    pipeline: Pipeline
    worker: OutboxWorker | DeliveryLanes
    notices: AdminNotices
    subscribers: SubscriberSync | None = None
    scheduler: "DigestScheduler | None" = None
    bot: "TelegramClient | None" = None  # the bot's client, when commands are on
    user_client: "TelegramClient | None" = None  # the user account's client when it sends the alerts
    guard: SessionGuard | None = None
    tasks: list = field(default_factory=list)
    restarts: dict = field(default_factory=dict)  # background task name -> times restarted
    started: dict = field(default_factory=dict)  # background task name -> monotonic start
    failure: DozorError | None = None  # a background task that kept failing stopped the app
    leased: LeasedAccounts | None = None  # on a shared store: the accounts held, the only ones watched

    async def run(self, stop: asyncio.Event) -> None:
        if self.guard is not None:
            self.guard.stop = stop
        try:
            await self.start_background(stop)
            await run_live(self.settings, self.store, self.pipeline, stop, self.options.alert_backfill,
                           client_factory=self.client_factory, sleep=self.options.sleep,
                           tick=self.options.tick, chunk_wait=self.options.chunk_wait, leased=self.leased,
                           sender=self.user_client)
        finally:
            stop.set()
            await self.shutdown()
            if self.options.dry_run:
                await retire_local_subscriber(self.store, LOCAL_CHAT_ID, self.options.clock(), "dry run ended")
        if self.guard is not None and self.guard.error is not None:
            raise self.guard.error
        if self.failure is not None:
            raise self.failure

    async def start_background(self, stop: asyncio.Event) -> None:
        if self.scheduler is not None:
            await self.scheduler.start()
            await self.subscribers.prime()
        self.tasks = []
        self.spawn("outbox", self.worker.run, stop)
        self.spawn("housekeeping", self.housekeep, stop)
        watcher = RulesWatcher(self.store, self.pipeline, self.settings.regex_budget, self.options.rules_every)
        await watcher.prime()
        self.spawn("rules", watcher.run, stop)  # a rule saved by another process goes live within seconds
        if self.settings.web:
            from bot.web.serve import serve_console  # the web framework only when asked for
            self.spawn("web", lambda done: serve_console(self.settings, done, store=self.store), stop)
        if self.store.dialect == "postgresql":  # a shared store: say we are alive, watch the accounts we hold
            self.leased = LeasedAccounts()
            await renew_leases(self.store, account_names(self.settings), self.leased, self.options.clock())
            self.spawn("leases", self.hold_leases, stop)

    async def hold_leases(self, stop: asyncio.Event) -> None:
        """Heartbeat and renew/take account leases every third of the lease time (bot/storage/leases.py);
        the watch loop follows `leased` (bot/telegram/live.py's Fleet). Leases are released on a clean stop."""
        try:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), timeout=leases.LEASE_SECONDS / 3)
                except asyncio.TimeoutError:
                    pass
                if not stop.is_set():
                    await renew_leases(self.store, account_names(self.settings), self.leased, self.options.clock())
        finally:
            await leases.release(self.store, self.store.process_id)

    def spawn(self, name: str, job: Callable, stop: asyncio.Event) -> None:
        """Run `job(stop)` in the background, watched: if it ends before `stop`, `background_ended` acts."""
        task = asyncio.create_task(job(stop), name=name)
        self.started[name] = time.monotonic()
        task.add_done_callback(lambda done: self.background_ended(done, job, stop))
        self.tasks.append(task)

    def background_ended(self, task: asyncio.Task, job: Callable, stop: asyncio.Event) -> None:
        """A background task ended while the app runs: restart it, or stop the app if it keeps ending.

        Dozor never runs on without delivery or housekeeping."""
        if stop.is_set() or task.cancelled():
            return
        name, error = task.get_name(), task.exception()
        why = f"{type(error).__name__}: {error}" if error is not None else "it returned"
        if time.monotonic() - self.started.get(name, 0.0) > STEADY_RUN:
            self.restarts[name] = 0  # it had been running fine: a new failure, not the same one again
        self.restarts[name] = self.restarts.get(name, 0) + 1
        if self.restarts[name] > MAX_RESTARTS:
            log.error("background task %s ended again (%s); stopping Dozor", name, why)
            self.failure = DozorError(f"the {name} task kept failing ({why}); Dozor stopped rather than run "
                                      f"without it: see the log, then restart `dozor run`")
            stop.set()
            return
        log.error("background task %s ended unexpectedly (%s); restarting it (%d of %d)",
                  name, why, self.restarts[name], MAX_RESTARTS)
        self.spawn(name, job, stop)

    def client_factory(self, settings, name: str | None = None):
        """run_live's clients: the one already connected to send alerts is reused."""
        if self.user_client is not None and name in (None, settings.tg_session):
            return self.user_client
        return user_client_factory(self.options)(settings, name)

    async def housekeep(self, stop: asyncio.Event) -> None:
        """Now and then: tell admins about channel warnings and parked alerts; follow subscriber changes."""
        while not stop.is_set():
            await self.housekeep_once()
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.options.housekeeping_every)
            except asyncio.TimeoutError:
                pass

    async def housekeep_once(self) -> None:
        jobs = (self.notices.run_once, self.subscribers.sync if self.subscribers else None, self.index_lemmas)
        for job in jobs:
            if job is None:
                continue
            try:
                await job()
            except Exception:  # one failed pass never stops the next
                log.exception("housekeeping step %s failed", getattr(job, "__qualname__", job))

    async def index_lemmas(self) -> None:
        """Keep the backtest/search index current, so the first /backtest after a busy day does not wait."""
        await refresh_lemma_index(self.store)

    async def shutdown(self) -> None:
        for task in self.tasks:
            if task.get_name() == "housekeeping":
                task.cancel()
        for task in self.tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("background task %s failed", task.get_name())
        self.tasks = []
        if self.scheduler is not None:
            self.scheduler.shutdown()
        for client in (self.bot, self.user_client):
            if client is not None:
                await _disconnect(client)
        log.info("live app stopped")


async def renew_leases(store: Store, accounts: list[str], leased: LeasedAccounts, now: datetime) -> None:
    """One heartbeat: `leased` then says which accounts this process watches (the watch loop follows it)."""
    held = await leases.heartbeat(store, store.process_id, accounts, now)
    for account in sorted(held.taken_over):
        log.warning("took over account %s from a process that stopped heartbeating; watching and sweeping its "
                    "channels", account)
    leased.known = set(await leases.lease_holders(store)) | set(accounts)
    leased.held = set(held.accounts)


def user_client_factory(options: LiveOptions) -> Callable:
    return options.client_factory or make_client


async def _disconnect(client) -> None:
    try:
        await client.disconnect()
    except Exception:  # closing anyway; nothing left to save
        log.debug("disconnecting a client failed", exc_info=True)


async def build_live_app(settings, store: Store, options: LiveOptions) -> LiveApp:
    """Wire the parts; connects the client that sends (bot, or the user account) before returning."""
    rules = await load_live_rules(store, settings)
    require_enabled_rules(rules, "live mode")  # exit 2: watching with no rule would store posts unmatched
    if options.dry_run:
        return await _build_dry_run(settings, store, options, rules)
    sender, bot, user_client, alert_chat = await open_sender(settings, options)
    try:
        app = await _build_real(settings, store, options, rules, sender_chain(settings, sender), bot, user_client,
                                alert_chat)
        await warn_if_nobody_is_alerted(store, alert_chat)
        return app
    except BaseException:
        for client in (bot, user_client):
            if client is not None:
                await _disconnect(client)
        raise


async def open_sender(settings, options: LiveOptions):
    """(sender, bot client or None, user client or None, alert chat or None): the bot when a token is
    set, else the user account, whose DOZOR_ALERT_CHAT is resolved here (ConfigError if it cannot be)."""
    if settings.tg_bot_token:
        if options.bot_factory is not None:
            bot = await options.bot_factory(settings)
        else:
            bot = await start_bot(settings, client_factory=user_client_factory(options))
        return make_sender(settings, bot), bot, None, None
    user = user_client_factory(options)(settings, settings.tg_session)
    try:
        await connect(user, settings.tg_session)
        alert_chat = await resolve_alert_chat(user, settings.alert_chat)
    except BaseException:
        await _disconnect(user)
        raise
    log.info("no TG_BOT_TOKEN: alerts go from the user account to %s (%s); bot commands are off",
             settings.alert_chat, alert_chat.title)
    return make_sender(settings, user), None, user, alert_chat


async def serve_alert_chat(settings, store: Store, alert_chat, now: datetime) -> None:
    """User-account mode: the alert chat is a subscriber of every rule; other chats need the bot."""
    sub, retired = await ensure_alert_chat_subscriber(store, alert_chat.chat_id, alert_chat.kind,
                                                      alert_chat.title, settings.tz, now)
    if retired is not None:
        log.warning("DOZOR_ALERT_CHAT changed: chat %s no longer gets alerts; %s (%s) does",
                    retired, alert_chat.chat_id, alert_chat.title)
    others = await count_active(store, TELEGRAM_KINDS) - 1
    if others > 0:
        log.warning("%d other subscriber chats get alerts only through a bot (TG_BOT_TOKEN); without one, "
                    "alerts go to DOZOR_ALERT_CHAT only", others)


async def warn_if_nobody_is_alerted(store: Store, alert_chat) -> None:
    """Live mode with no active subscriber stores matches and alerts nobody: say so, loudly."""
    if alert_chat is None and await count_active(store, LIVE_KINDS) == 0:
        log.warning(NOBODY_ALERTED)


async def _build_real(settings: Settings, store: Store, options: LiveOptions, rules, senders: SenderChain,
                      bot: "TelegramClient | None", user_client: "TelegramClient | None",
                      alert_chat=None) -> LiveApp:
    chats = None
    if alert_chat is not None:
        await serve_alert_chat(settings, store, alert_chat, options.clock())
        chats = (alert_chat.chat_id,)
    patient = senders.patient
    sink = TelegramAlertSink(store, senders.alerts, settings, options.clock)
    telegram = OutboxWorker(store, lambda _sub: sink, options.clock, settings.max_attempts, kinds=TELEGRAM_KINDS,
                            chat_ids=chats)
    targets, close_targets = target_senders(settings)  # alerts' lanes and digests share the rate limits
    worker = delivery_lanes(settings, store, telegram, options.clock, targets, close_targets)
    pipeline = Pipeline(store, rules, options.clock, notify=worker.notify,
                        recipient_kinds=LIVE_KINDS,  # a replay's or dry run's terminal gets nothing live
                        recipient_chats=chats)
    notice_chats = list(settings.admins) if settings.tg_bot_token else [LOCAL_CHAT_ID]  # user sender: one chat
    app = LiveApp(settings, store, options, pipeline, worker, AdminNotices(store, patient, notice_chats, options.clock),
                  bot=bot, user_client=user_client, guard=senders.guard)
    if options.digests:
        app.scheduler = DigestScheduler(store, patient, settings, options.clock, target_senders=targets)
        app.subscribers = SubscriberSync(store, app.scheduler)
    if bot is not None:
        reload_rules = rules_reloader(store, pipeline, settings.regex_budget)
        install_bot_handlers(bot, store, settings, patient, on_rules_changed=reload_rules,
                             clock=options.clock)
        log.info("bot commands are on")
    return app


def delivery_lanes(settings: Settings, store: Store, telegram: OutboxWorker, clock: Clock,
                   senders=None, close=None) -> DeliveryLanes:
    """The Telegram worker beside one lane per webhook or Apprise subscriber (bot/delivery/lanes.py),
    over the targets' `senders` (made here unless given) and the coroutine function `close` that closes them."""
    if senders is None:
        senders, close = target_senders(settings)
    targets = TargetAlertSink(store, senders, settings, clock)

    def make_lane(subscriber_id: int) -> TargetLane:
        return TargetLane(store, lambda _sub: targets, clock, settings.max_attempts, subscriber_ids=(subscriber_id,))

    return DeliveryLanes(store, telegram, make_lane, on_close=close)


async def _build_dry_run(settings: Settings, store: Store, options: LiveOptions, rules) -> LiveApp:
    """Only the local subscriber is served, through the real alert sink over a printing sender; edits
    and deletions of its alerts reach it as follow-up rows, printed like the alerts."""
    printer = sender_chain(settings, out=options.out).alerts
    await ensure_local_subscriber(store, options.clock(), LOCAL_CHAT_ID, tz=settings.tz)
    sink = TelegramAlertSink(store, printer, settings, options.clock)
    worker = OutboxWorker(store, lambda _sub: sink, options.clock, settings.max_attempts, kinds=(SubscriberKind.LOCAL,))
    pipeline = Pipeline(store, rules, options.clock, notify=worker.notify)
    notices = AdminNotices(store, printer, list(settings.admins) or [LOCAL_CHAT_ID], options.clock, record=False)
    log.warning("dry run: nothing is sent to Telegram; alerts are printed; subscriber chats' alerts stay "
                "queued; commands and digests are off")
    read_only = settings.replace(join_channels=False)  # a dry run writes nothing to Telegram: no joins
    return LiveApp(read_only, store, replace(options, digests=False), pipeline, worker, notices)


async def run_live_app(settings, stop: asyncio.Event, options: LiveOptions) -> int:
    """Open the database, build the app, run it until `stop`, close the database."""
    store = await Store.open(settings.db_path)
    try:
        app = await build_live_app(settings, store, options)
        await app.run(stop)
    finally:
        await store.close()
    return 0
