"""Commands a subscriber (a user or a group chat) uses: access, subscriptions, mute,
time zone, digest, search and export."""
from __future__ import annotations

import secrets
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.commands import parse as p
from bot.commands.context import Ctx, Reply, join_lines
from bot.commands.roles import ACCESS_MESSAGE, Role, chat_subscriber, may_change_chat, user_role
from bot.delivery.buttons import decision_buttons, page_buttons
from bot.digest.jobs import build_day_digest, digest_messages
from bot.formatting import escape as esc, plural
from bot.history.backtest import query_target
from bot.history.export import alerts_csv
from bot.history.search import search_posts
from bot.models import AlertStyle, Outgoing, Subscriber, SubscriberKind
from bot.rules.nodes import MAX_SEARCH_REGEXES
from bot.storage import access, kv
from bot.storage.db import to_iso
from bot.storage.rules import load_rule_defs

HELP_SUBSCRIBER = """<b>Dozor</b> sends alerts when watched channels post about your topics.
/subscribe [TAG|RULE …] — receive alerts (nothing = every rule; sent in a forum topic, they go to that topic)
/unsubscribe [TAG|RULE …] — stop them (nothing = all)
/mute 2h — pause alerts (30m, 2h, 1d, off)
/tz Europe/Moscow — your time zone for digests
/style full|compact — whole alerts or one line each
/digest [YYYY-MM-DD] — the daily digest now
/search QUERY — stored posts, newest first
/export [DAYS] — your alerts as a CSV file"""
HELP_OPERATOR = """
<b>Operators</b>
/rules, /rule show|add|edit|del|on|off ID …, /rule test ID|QUERY TEXT
/backtest ID|QUERY [DAYS]
/channels, /channel add|del|pause|resume @name
/stats
/console — a one-time link to the web console"""
HELP_ADMIN = """
<b>Admins</b>
/invite [subscriber|operator], /requests, /approve ID, /deny ID
/role CHAT_ID subscriber|operator, /audit [N]
/channel confirm ID (watch a private group or channel)"""
NOT_CHAT_ADMIN = "Only this group's admins can change its subscription."
MAX_PENDING_PER_USER = 3  # access requests one person may have waiting (one per group they ask for)
MAX_PENDING = 50  # waiting requests in all; past it nobody new bothers the admins
NOT_SUBSCRIBED = "This chat is not subscribed. Send /start to subscribe it."


async def handle_start(ctx: Ctx, cmd: p.Start) -> Reply:
    if await chat_subscriber(ctx) is not None:
        return Reply("You are subscribed already. /help lists the commands.")
    if not may_change_chat(ctx):
        return Reply(NOT_CHAT_ADMIN)
    kind = SubscriberKind.GROUP if ctx.is_group else SubscriberKind.USER
    if cmd.code:
        role = await ctx.store.write(lambda c: access.redeem_invite(c, cmd.code, ctx.chat_id, ctx.now))
        if role is None:
            return Reply("This invite code is not valid or was used already (codes also expire). "
                         "Ask an admin for a new one.")
        role = "subscriber" if ctx.is_group else role
        await _add_chat(ctx, kind, role, f"invite:{access.invite_label(cmd.code)}")
        return Reply(f"Welcome to Dozor (role: {esc(role)}). You receive alerts for every rule.\n\n"
                     + await help_text(ctx))
    if await user_role(ctx) == Role.ADMIN:
        await _add_chat(ctx, kind, "subscriber", ctx.actor)
        return Reply("Subscribed (you are an admin).\n\n" + await help_text(ctx))
    return await _request_access(ctx)


async def _add_chat(ctx: Ctx, kind: str, role: str, actor: str) -> None:
    await ctx.store.write(lambda c: access.add_subscriber(
        c, ctx.chat_id, actor if actor.startswith("tg:") else f"{ctx.actor} ({actor})", ctx.now,
        kind=kind, title=ctx.chat_title, role=role, tz=ctx.settings.tz, topic_id=ctx.topic_id))


async def _request_access(ctx: Ctx) -> Reply:
    title = ctx.chat_title or str(ctx.chat_id)
    state = await ctx.store.write(lambda c: access.request_access(
        c, ctx.chat_id, title, ctx.now, requested_by=ctx.user_id,
        per_user=MAX_PENDING_PER_USER, total=MAX_PENDING))
    if state == "busy":
        return Reply("Too many access requests are waiting for the admins; try again later.")
    if state == "pending":
        return Reply("Your request is waiting for an admin. " + ACCESS_MESSAGE)
    if state == "denied":
        return Reply("Dozor is a private bot and your request was declined. Ask an admin for an invite code.")
    text = (f"Access request from <b>{esc(title)}</b> (chat <code>{ctx.chat_id}</code>, "
            f"user <code>{ctx.user_id}</code>).")
    notify = tuple(Outgoing(admin, text, buttons=decision_buttons(ctx.chat_id))
                   for admin in ctx.settings.admins)
    return Reply("Dozor is a private bot. Your request was sent to the admins; "
                 "you will get a message when it is approved.", notify=notify)


async def help_text(ctx: Ctx) -> str:
    role = await user_role(ctx)
    text = HELP_SUBSCRIBER
    if role >= Role.OPERATOR:
        text += "\n" + HELP_OPERATOR
    if role >= Role.ADMIN:
        text += "\n" + HELP_ADMIN
    return text


async def handle_help(ctx: Ctx, cmd: p.Help) -> Reply:
    return Reply(await help_text(ctx))


async def _my_subscriber(ctx: Ctx, changing: bool) -> Subscriber | Reply:
    sub = await chat_subscriber(ctx)
    if sub is None:
        return Reply(NOT_SUBSCRIBED)
    if changing and not may_change_chat(ctx):
        return Reply(NOT_CHAT_ADMIN)
    return sub


async def _resolve_items(ctx: Ctx, command: str, items: tuple[str, ...]) -> list[tuple[str, str]]:
    rules = await load_rule_defs(ctx.store)
    ids = {r.id for r in rules}
    tags = {t for r in rules for t in r.tags}
    out = []
    for item in items:
        kind, _, name = item.partition(":") if ":" in item else ("", "", item)
        name = name.lstrip("#")
        if kind in ("", "rule") and name in ids:
            out.append(("rule", name))
        elif kind in ("", "tag") and name in tags:
            out.append(("tag", name))
        else:
            known = ", ".join(sorted(tags)[:10]) or "none yet"
            raise p.usage_error(command, f"There is no rule or tag {p.shorten(item, 40)!r} (tags: {known})")
    return out


async def handle_subscribe(ctx: Ctx, cmd: p.Subscribe) -> Reply:
    sub = await _my_subscriber(ctx, changing=True)
    if isinstance(sub, Reply):
        return sub
    add = await _resolve_items(ctx, "subscribe", cmd.items) if cmd.items else [("all", "")]
    current = await access.list_subscriptions(ctx.store, sub.id)
    remove = [("all", "")] if cmd.items and ("all", "") in current else []
    await ctx.store.write(lambda c: access.change_subscriptions(c, sub.id, add, remove, ctx.actor, ctx.now))
    return Reply(await _subscriptions_text(ctx, sub) + await _bind_topic(ctx, sub))


async def _bind_topic(ctx: Ctx, sub: Subscriber) -> str:
    """A group's alerts and digests go where /subscribe was sent: a forum topic, or the chat itself."""
    if not ctx.is_group or sub.topic_id == ctx.topic_id:
        return ""
    await ctx.store.write(lambda c: access.update_subscriber(
        c, ctx.chat_id, ctx.actor, ctx.now, "subscriber.topic", topic_id=ctx.topic_id))
    if ctx.topic_id is None:
        return "\nAlerts and digests now go to the chat itself (its General topic), where /subscribe was sent."
    return "\nAlerts and digests now go to this topic."


async def handle_style(ctx: Ctx, cmd: p.Style) -> Reply:
    sub = await _my_subscriber(ctx, changing=cmd.style is not None)
    if isinstance(sub, Reply):
        return sub
    if cmd.style is None:
        return Reply(f"Alert style: {sub.style}. /style full sends whole alerts, /style compact one line each.")
    await ctx.store.write(lambda c: access.update_subscriber(
        c, ctx.chat_id, ctx.actor, ctx.now, "subscriber.style", alert_style=cmd.style))
    if cmd.style == AlertStyle.COMPACT:
        return Reply("Alerts now come as one line each: time, channel, rule, the first matched words, link.")
    return Reply("Alerts now come in full: channel, rules and the post's text with the matched words.")


async def handle_unsubscribe(ctx: Ctx, cmd: p.Unsubscribe) -> Reply:
    sub = await _my_subscriber(ctx, changing=True)
    if isinstance(sub, Reply):
        return sub
    if not cmd.items:
        await ctx.store.write(lambda c: access.change_subscriptions(c, sub.id, [], None, ctx.actor, ctx.now))
        return Reply("Alerts stopped. /subscribe starts them again.")
    drop = await _resolve_items(ctx, "unsubscribe", cmd.items)
    current = await access.list_subscriptions(ctx.store, sub.id)
    add: list[tuple[str, str]] = []
    if ("all", "") in current:  # "everything but": expand to the rules that stay
        drop_tags = {v for k, v in drop if k == "tag"}
        drop_rules = {v for k, v in drop if k == "rule"}
        add = [("rule", r.id) for r in await load_rule_defs(ctx.store)
               if r.id not in drop_rules and not drop_tags & set(r.tags)]
        drop = [("all", "")]
    await ctx.store.write(lambda c: access.change_subscriptions(c, sub.id, add, drop, ctx.actor, ctx.now))
    return Reply(await _subscriptions_text(ctx, sub))


async def _subscriptions_text(ctx: Ctx, sub: Subscriber) -> str:
    items = await access.list_subscriptions(ctx.store, sub.id)
    if not items:
        return "You receive no alerts. /subscribe starts them."
    if ("all", "") in items:
        return "You receive alerts for every rule."
    names = ", ".join(f"{kind} <code>{esc(value)}</code>" for kind, value in items)
    return "You receive alerts for: " + names


async def handle_mute(ctx: Ctx, cmd: p.Mute) -> Reply:
    sub = await _my_subscriber(ctx, changing=True)
    if isinstance(sub, Reply):
        return sub
    until = None if cmd.minutes is None else ctx.now + timedelta(minutes=cmd.minutes)
    await ctx.store.write(lambda c: access.update_subscriber(
        c, ctx.chat_id, ctx.actor, ctx.now, "subscription.mute", muted_until=to_iso(until)))
    if until is None:
        return Reply("Alerts are on again.")
    local = until.astimezone(ZoneInfo(sub.tz)).strftime("%Y-%m-%d %H:%M")
    return Reply(f"Alerts muted until {local} ({esc(sub.tz)}). /mute off turns them back on.")


async def handle_tz(ctx: Ctx, cmd: p.Tz) -> Reply:
    sub = await _my_subscriber(ctx, changing=True)
    if isinstance(sub, Reply):
        return sub
    await ctx.store.write(lambda c: access.update_subscriber(
        c, ctx.chat_id, ctx.actor, ctx.now, "subscriber.tz", tz=cmd.zone))
    return Reply(f"Time zone set to {esc(cmd.zone)}; digests come at {esc(sub.digest_time)} local time.")


async def handle_digest(ctx: Ctx, cmd: p.Digest) -> Reply:
    sub = await _my_subscriber(ctx, changing=False)
    if isinstance(sub, Reply):
        return sub
    day = cmd.day or ctx.now.astimezone(ZoneInfo(sub.tz)).date() - timedelta(days=cmd.days_back)
    if sub.digest_calendar_day:  # the day named is the calendar day covered; its digest is due the next day
        day += timedelta(days=1)
    return await digest_reply(ctx, sub, day)


async def digest_reply(ctx: Ctx, sub: Subscriber, day: date) -> Reply:
    """The one place that knows how a digest is made (ctx.digest, or bot.digest.jobs)."""
    if ctx.digest is not None:
        return Reply(await ctx.digest(sub, day))
    digest = await build_day_digest(ctx.store, day, ctx.now, sub.tz, sub.digest_time, sub.id,
                                    ctx.settings.dedup_threshold, sub.digest_calendar_day)
    messages = digest_messages(digest, sub.chat_id, ctx.topic_id)
    if not messages:
        return Reply(f"No digest for {day.isoformat()}.")
    return Reply(messages[0].html, notify=tuple(messages[1:]))


async def handle_search(ctx: Ctx, cmd: p.Search, page: int = 1) -> Reply:
    target = query_target(cmd.query, MAX_SEARCH_REGEXES, "a /search")  # RuleSyntaxError -> the caret
    found = await search_posts(ctx.store, target, page, lemmatize=ctx.lemmatize,
                               budget=ctx.settings.search_budget)
    stopped = f" (search stopped after {found.stopped_after:g} s)" if found.stopped_after is not None else ""
    await ctx.store.write(lambda c: kv.set_text(c, _search_key(ctx), cmd.query, ctx.now))
    if not found.posts:
        return Reply(f"Nothing found for <code>{esc(cmd.query[:200])}</code>"
                     + (f" on page {page}" if page > 1 else "") + stopped + ".")
    lines = [f"<b>Search</b> <code>{esc(cmd.query[:200])}</code>, page {page}:"]
    for post in found.posts:
        link = f' <a href="{esc(post["link"], quote=True)}">link</a>' if post["link"] else ""
        lines.append(f"\n<b>{esc(post['channel'])}</b> {esc(post['date'][:16].replace('T', ' '))}{link}\n"
                     f"{esc(post['excerpt'])}")
    if stopped:
        lines.append(f"\nThe search stopped after {found.stopped_after:g} s: these are the posts "
                     "found by then. A narrower query finds the rest.")
    return Reply(join_lines(lines), buttons=page_buttons(page, found.has_more))


def _search_key(ctx: Ctx) -> str:
    return f"search:{ctx.chat_id}"


async def last_search(ctx: Ctx) -> str | None:
    return await kv.get_text(ctx.store, _search_key(ctx))


async def handle_export(ctx: Ctx, cmd: p.Export) -> Reply:
    sub = await _my_subscriber(ctx, changing=False)
    if isinstance(sub, Reply):
        return sub

    rows = await access.alerts_for_export(ctx.store, sub.id, ctx.now - timedelta(days=cmd.days))
    name = f"dozor-alerts-{ctx.now.date().isoformat()}-{cmd.days}d.csv"
    return Reply(f"{plural(len(rows), 'alert')} from the last {plural(cmd.days, 'day')}.", file=(name, alerts_csv(rows)))


def new_invite_code() -> str:
    return secrets.token_urlsafe(9)
