"""`dozor login` and `dozor channels add|list|remove|pause|resume|refresh` (`set`: bot/cli/channel_options.py).

`channels add` resolves names right away when the account is logged in (each
name once: the database caches id and access hash). Without credentials, or
with --offline, a -100… id is stored as "unresolved" and a name is queued;
both are resolved at the next `dozor run`. While `dozor run` watches with the
account, the running app picks them up at its next refresh (every
DOZOR_SWEEP_INTERVAL seconds), and each channel gets one line saying so.
`channels refresh` resolves channels again by name (a stale id or access hash,
CHANNEL_INVALID / PEER_ID_INVALID) and lets every account try them again.
Changes are audited (actor "cli"). Each channel gets one line; if any failed,
the failures are raised as one DozorError (bot/__main__.py: exit code 2).

bot.telegram is imported inside the handlers: importing Telethon takes about
half a second, which every other `dozor` command would otherwise pay.
"""
from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Callable

from bot.cli import channel_options
from bot.clock import utc_now
from bot.errors import DozorError, TelegramUnavailable, UsageError
from bot.formatting import format_time
from bot.models import ChannelStatus
from bot.storage import Store
from bot.storage import channels as db
from bot.storage.accounts import forget_refusals

if TYPE_CHECKING:
    from bot.telegram.budget import Budget
    from bot.telegram.channels import ChannelRef


def register(subparsers) -> None:
    login_parser = subparsers.add_parser("login", help="log the Telegram user account in (phone, code, 2FA)")
    login_parser.add_argument("--session", help="session name (default TG_SESSION; one per DOZOR_ACCOUNTS entry)")
    login_parser.add_argument("--phone", help="phone number in international format; asked if omitted")
    login_parser.set_defaults(handler=login_command)

    channels = subparsers.add_parser("channels", help="watched channels: add, list, remove, pause, resume")
    channels.set_defaults(handler=None, help_of=channels)
    actions = channels.add_subparsers(dest="channels_command", metavar="ACTION")
    add = actions.add_parser("add", help="watch channels: @name, t.me/name, t.me/s/name or a -100… id")
    add.add_argument("refs", nargs="+", metavar="CHANNEL")
    add.add_argument("--offline", action="store_true", help="store without contacting Telegram")
    add.add_argument("--confirm-private", action="store_true",
                     help="also watch private groups and channels (no username; audited as your confirmation)")
    add.set_defaults(handler=channels_add_command)
    listing = actions.add_parser("list", help="show watched channels and names waiting to be resolved")
    listing.set_defaults(handler=channels_list_command)
    refresh = actions.add_parser("refresh", help="resolve channels again (stale access hash); default: those "
                                 "no account can read")
    refresh.add_argument("refs", nargs="*", metavar="CHANNEL")
    refresh.add_argument("--session", help="account session to resolve with (default TG_SESSION)")
    refresh.set_defaults(handler=channels_refresh_command)
    for name, text in (("remove", "stop watching"), ("pause", "pause"), ("resume", "resume")):
        sub = actions.add_parser(name, help=f"{text} channels (@name or -100… id)")
        sub.add_argument("refs", nargs="+", metavar="CHANNEL")
        sub.set_defaults(handler=channels_status_command, status_action=name)
    channel_options.register(actions)


def login_command(args: argparse.Namespace, settings) -> int:
    from bot.telegram.client import session_path  # Telethon: imported only by the commands that use it
    from bot.telegram.login import login

    who = asyncio.run(login(settings, args.session, args.phone))
    print(f"Logged in as {who}. Session saved in {session_path(settings, args.session)} (keep it secret).")
    return 0


async def _with_store(settings, fn: Callable):
    store = await Store.open(settings.db_path)
    try:
        return await fn(store)
    finally:
        await store.close()


def _report(lines: list[tuple[bool, str]]) -> int:
    """Print the lines that went well; the ones that did not are raised together as one DozorError."""
    for ok, line in lines:
        if ok:
            print(line)
    failed = [line for ok, line in lines if not ok]
    if failed:
        raise DozorError("\n".join(failed))
    return 0


def channels_add_command(args: argparse.Namespace, settings) -> int:
    from bot.telegram.channels import parse_channel_ref  # Telethon: see the module docstring
    from bot.telegram.client import session_path
    from bot.telegram.live import live_is_running

    refs = [parse_channel_ref(text) for text in args.refs]  # a typo stops before anything is stored
    online = settings.has_telegram and not args.offline and session_path(settings).exists()
    when = "at the next `dozor run` with credentials"
    if online and live_is_running(settings):
        when = f"by the running `dozor run` within {settings.sweep_interval} s"
        online = False
    return _report(asyncio.run(_with_store(settings, lambda store: add_channels(
        settings, store, refs, online, when=when, confirm_private=getattr(args, "confirm_private", False)))))


async def add_channels(settings, store, refs: list[ChannelRef], online: bool,
                       client_factory: Callable | None = None,
                       when: str = "at the next `dozor run` with credentials",
                       confirm_private: bool = False) -> list[tuple[bool, str]]:
    """Resolve and store each channel; (ok, message) per channel. `when` says when a stored one is picked up.
    A private group or channel stays unconfirmed (not watched) unless `confirm_private`."""
    from bot.telegram.budget import Budget  # Telethon: see the module docstring
    from bot.telegram.client import make_client
    from bot.telegram.live import connect

    if not online:
        return [await _later(store, ref, when, confirm_private) for ref in refs]
    client = (client_factory or make_client)(settings)
    try:
        try:
            await connect(client, settings.tg_session)
        except TelegramUnavailable as exc:  # no network: keep the work for later
            return [(True, f"{exc}; storing for later")] + [await _later(store, r, confirm=confirm_private)
                                                             for r in refs]
        budget = Budget(settings.tg_session)
        return [await _resolve_one(client, store, ref, budget, confirm_private) for ref in refs]
    finally:
        await client.disconnect()


async def _resolve_one(client, store, ref: ChannelRef, budget: Budget,
                       confirm_private: bool = False) -> tuple[bool, str]:
    from bot.telegram.channels import resolve  # Telethon: see the module docstring
    from bot.telegram.errors import ChannelUnavailable

    try:
        row = await resolve(client, store, ref, budget, actor="cli")
    except (ChannelUnavailable, UsageError) as exc:
        return False, f"not added: {exc}"
    if row.status == ChannelStatus.UNCONFIRMED:
        if not confirm_private:
            return False, (f"not watched: {row.label} ({row.title or 'no title'}) is a private group or channel; "
                           f"to watch it anyway: dozor channels add --confirm-private {row.id}")
        await db.confirm_private(store, row.id, actor="cli")
        row = await db.get_channel(store, row.id)
    note = "" if row.status == ChannelStatus.ACTIVE else f"; it is {row.status}: `dozor channels resume {row.label}`"
    return True, f"watching {row.label} ({row.title or 'no title'}, id {row.id}){note}"


async def _later(store, ref: ChannelRef, when: str = "at the next `dozor run` with credentials",
                 confirm: bool = False) -> tuple[bool, str]:
    """store_for_later, plus the admin's confirmation for a private chat given by id (kept for its resolution)."""
    result = await store_for_later(store, ref, when)
    if confirm and ref.channel_id is not None:
        await db.confirm_private(store, ref.channel_id, actor="cli")
    return result


async def store_for_later(store, ref: ChannelRef,
                          when: str = "at the next `dozor run` with credentials") -> tuple[bool, str]:
    """No Telegram now: use the cache, or keep the channel to resolve; `when` says when it is picked up."""
    cached = await (db.find_by_username(store, ref.username) if ref.username else db.get_channel(store, ref.channel_id))
    if cached is not None and cached.access_hash is not None:
        row = await db.save_channel(store, cached.id, actor="cli")
        return True, f"watching {row.label} ({row.title or 'no title'}, id {row.id}; known already, no lookup): " \
                     f"picked up {when}"
    if ref.channel_id is not None:
        await db.save_channel(store, ref.channel_id, status=ChannelStatus.UNRESOLVED, actor="cli")
        return True, f"stored {ref.channel_id} as unresolved: it is looked up {when}"
    queued = await db.add_request(store, ref.username, actor="cli")
    again = "" if queued else " (queued already)"
    return True, f"queued @{ref.username}{again}: it is resolved {when}"


def channels_list_command(args: argparse.Namespace, settings) -> int:
    async def show(store):
        return await db.list_channels(store), await db.list_requests(store), await db.failed_requests(store)

    rows, queued, failed = asyncio.run(_with_store(settings, show))
    if not rows and not queued:
        print("No channels yet: dozor channels add @name")
        return 0
    for row in rows:
        seen = format_time(row.last_post_at, settings.tz) if row.last_post_at else "never"
        print(f"{row.id:>15}  {row.label:<28} {row.status:<10} {row.account or '-':<8} "
              f"{'joined' if row.joined else 'polled':<6}  last post {seen}  {row.title or ''}"
              + ("  (members named)" if row.show_authors else ""))
    for name in queued:
        why = f"failed: {failed[name]} (add it again to retry)" if name in failed else \
            "(resolved at the next `dozor run`)"
        print(f"{'?':>15}  @{name:<27} queued     {why}")
    return 0


def channels_status_command(args: argparse.Namespace, settings) -> int:
    from bot.telegram.channels import parse_channel_ref  # Telethon: see the module docstring

    refs = [parse_channel_ref(text) for text in args.refs]
    action = args.status_action
    return _report(asyncio.run(_with_store(settings, lambda store: change_status(store, refs, action))))


async def change_status(store, refs: list[ChannelRef], action: str) -> list[tuple[bool, str]]:
    lines = []
    for ref in refs:
        if action == "remove":
            label = await db.remove_channel(store, str(ref.username or ref.channel_id), actor="cli")
            lines.append((label is not None, f"removed {label}" if label else f"{ref} is not watched"))
            continue
        row = await (db.find_by_username(store, ref.username) if ref.username else db.get_channel(store, ref.channel_id))
        if row is None or row.status == ChannelStatus.REMOVED:
            lines.append((False, f"{ref} is not watched"))
            continue
        await db.set_status(store, row.id, ChannelStatus.PAUSED if action == "pause" else ChannelStatus.ACTIVE, actor="cli")
        lines.append((True, f"{action}d {row.label}"))
    return lines


def channels_refresh_command(args: argparse.Namespace, settings) -> int:
    from bot.telegram.channels import parse_channel_ref  # Telethon: see the module docstring
    from bot.telegram.client import require_credentials
    from bot.telegram.live import live_is_running

    require_credentials(settings)
    if live_is_running(settings):
        raise UsageError("dozor run is using the session: stop it first (it resolves a stale channel again "
                         "by itself)")
    refs = [parse_channel_ref(text) for text in args.refs]
    account = args.session or settings.tg_session
    return _report(asyncio.run(_with_store(settings, lambda store: refresh_channels(settings, store, refs, account))))


async def refresh_channels(settings, store, refs: list[ChannelRef], account: str,
                           client_factory: Callable | None = None) -> list[tuple[bool, str]]:
    """Resolve channels again as `account` and let every account try them again; (ok, message) each.

    Without refs: the channels no account could read (private, banned, unavailable)."""
    from bot.telegram.budget import Budget  # Telethon: see the module docstring
    from bot.telegram.channels import resolve_again
    from bot.telegram.client import make_client
    from bot.telegram.errors import ChannelUnavailable
    from bot.telegram.live import connect

    rows = await _rows_to_refresh(store, refs)
    if not rows:
        return [(True, "nothing to refresh: every channel is readable")]
    client = (client_factory or make_client)(settings, account)
    budget = Budget(account)
    lines = []
    try:
        await connect(client, account)
        for row in rows:
            try:
                fresh = await resolve_again(client, store, row, account, budget, utc_now(),
                                            main=account == settings.tg_session)
            except (ChannelUnavailable, UsageError) as exc:
                lines.append((False, f"{row.label}: {exc}"))
                continue
            await forget_refusals(store, row.id)
            if row.status not in (ChannelStatus.ACTIVE, ChannelStatus.PAUSED):
                await db.set_status(store, row.id, ChannelStatus.ACTIVE, actor="cli")
            lines.append((True, f"refreshed {fresh.label} ({fresh.title or 'no title'}) for account {account}"))
    finally:
        await client.disconnect()
    return lines


async def _rows_to_refresh(store, refs: list[ChannelRef]) -> list:
    if not refs:
        return await db.list_channels(store, (ChannelStatus.PRIVATE, ChannelStatus.BANNED, ChannelStatus.UNAVAILABLE))
    rows = []
    for ref in refs:
        row = await (db.find_by_username(store, ref.username) if ref.username
                     else db.get_channel(store, ref.channel_id))
        if row is not None:
            rows.append(row)
    return rows
