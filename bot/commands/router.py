"""From a message (or a button press) to a Reply: parse, check the role, run the handler.

Strangers get the access message and nothing else. User errors (bad input, rule
syntax) become a short answer; nothing a user sends raises out of here. None means
"say nothing": a command addressed to another bot, or a sender over the rate limit
who was told once. In a group that is not a subscriber everyone is a stranger (only
/start works there); operator and admin commands run only in private chats.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Awaitable, Callable

from bot.commands import admin, console, operator, subscriber
from bot.commands import parse as p
from bot.delivery.buttons import DecideCallback, Feedback, MuteRule, SearchPage, unpack
from bot.commands.context import Ctx, Reply
from bot.commands.roles import ACCESS_MESSAGE, Role, chat_subscriber, effective_role, user_role
from bot.errors import DozorError
from bot.formatting import escape as esc
from bot.storage import access
from bot.storage.outbox import alert_rule_ids

log = logging.getLogger(__name__)

Handler = Callable[[Ctx, object], Awaitable[Reply]]
ROUTES: dict[type, tuple[Role, Handler]] = {
    p.Start: (Role.STRANGER, subscriber.handle_start),
    p.Help: (Role.SUBSCRIBER, subscriber.handle_help),
    p.Subscribe: (Role.SUBSCRIBER, subscriber.handle_subscribe),
    p.Unsubscribe: (Role.SUBSCRIBER, subscriber.handle_unsubscribe),
    p.Mute: (Role.SUBSCRIBER, subscriber.handle_mute),
    p.Tz: (Role.SUBSCRIBER, subscriber.handle_tz),
    p.Style: (Role.SUBSCRIBER, subscriber.handle_style),
    p.Digest: (Role.SUBSCRIBER, subscriber.handle_digest),
    p.Search: (Role.SUBSCRIBER, subscriber.handle_search),
    p.Export: (Role.SUBSCRIBER, subscriber.handle_export),
    p.Rules: (Role.OPERATOR, operator.handle_rules),
    p.RuleShow: (Role.OPERATOR, operator.handle_rule_show),
    p.RuleAdd: (Role.OPERATOR, operator.handle_rule_add),
    p.RuleEdit: (Role.OPERATOR, operator.handle_rule_edit),
    p.RuleDel: (Role.OPERATOR, operator.handle_rule_del),
    p.RuleToggle: (Role.OPERATOR, operator.handle_rule_toggle),
    p.RuleTest: (Role.OPERATOR, operator.handle_rule_test),
    p.Backtest: (Role.OPERATOR, operator.handle_backtest),
    p.Channels: (Role.OPERATOR, operator.handle_channels),
    p.ChannelAction: (Role.OPERATOR, operator.handle_channel),
    p.Stats: (Role.OPERATOR, operator.handle_stats),
    p.Console: (Role.OPERATOR, console.handle_console),
    p.ChannelConfirm: (Role.ADMIN, admin.handle_channel_confirm),
    p.Invite: (Role.ADMIN, admin.handle_invite),
    p.Requests: (Role.ADMIN, admin.handle_requests),
    p.Decide: (Role.ADMIN, admin.handle_decide),
    p.SetRole: (Role.ADMIN, admin.handle_role),
    p.Audit: (Role.ADMIN, admin.handle_audit),
}
PRIVATE_ONLY = "Operator and admin commands work only in a private chat with the bot."
OPERATOR_ONLY = "This command is for operators. /help lists what you can do."
ADMIN_ONLY = "This command is for admins. /help lists what you can do."
STALE_BUTTON = "This button is no longer valid"


async def dispatch(ctx: Ctx, text: str) -> Reply | None:
    """Answer one command message (None: no answer)."""
    if not _for_this_bot(ctx, text):
        return None
    slow = _throttled(ctx)
    if slow is not None:
        return slow or None
    role = await effective_role(ctx)
    try:
        cmd = p.parse_command(text)
    except p.UsageError as exc:
        return Reply(ACCESS_MESSAGE if role == Role.STRANGER else esc(str(exc)))
    needed, handler = ROUTES[type(cmd)]
    if ctx.is_group and needed >= Role.OPERATOR:
        return Reply(PRIVATE_ONLY if role >= Role.SUBSCRIBER else ACCESS_MESSAGE)
    if role < needed:
        if role == Role.STRANGER:
            return Reply(ACCESS_MESSAGE)
        return Reply(ADMIN_ONLY if needed == Role.ADMIN else OPERATOR_ONLY)
    return await _run(handler, ctx, cmd)


def _for_this_bot(ctx: Ctx, text: str) -> bool:
    """"/cmd" and "/cmd@ThisBot" are ours; "/cmd@OtherBot" (or any @name while ours is unknown) is not."""
    target = p.addressee(text)
    return target is None or target == (ctx.bot_username or "").lower().lstrip("@")


def _throttled(ctx: Ctx) -> Reply | str | None:
    """None: go on. A Reply: the one "slow down" answer. "": over the limit, say nothing."""
    if ctx.throttle is None:
        return None
    verdict = ctx.throttle.check(ctx.user_id, ctx.chat_id, ctx.now.timestamp())
    if verdict.allowed:
        return None
    return Reply(esc(verdict.text)) if verdict.warn else ""


async def _run(handler: Handler, ctx: Ctx, cmd: object) -> Reply:
    try:
        return await handler(ctx, cmd)
    except DozorError as exc:  # UsageError, RuleSyntaxError: say what is wrong, change nothing
        return Reply(_error_html(exc))


def _error_html(exc: DozorError) -> str:
    text = str(exc)
    if "\n" in text:  # a rule syntax error: keep the caret under the spot
        head, _, source = text.partition("\n")
        return f"{esc(head)}\n<pre>{esc(source)}</pre>"
    return esc(text)


async def dispatch_callback(ctx: Ctx, data: str) -> Reply | None:
    """Answer one inline-button press (None: no answer)."""
    slow = _throttled(ctx)
    if slow is not None:
        return slow or None
    role = await effective_role(ctx)
    if role == Role.STRANGER:
        return Reply(ACCESS_MESSAGE)
    try:
        action = unpack(data)
    except ValueError:
        return Reply(esc(STALE_BUTTON))
    if not _ids_in_range(action):
        return Reply(esc(STALE_BUTTON))
    if isinstance(action, DecideCallback):
        if ctx.is_group:
            return Reply(PRIVATE_ONLY)
        if await user_role(ctx) < Role.ADMIN:
            return Reply(ADMIN_ONLY)
        return await _run(lambda c, a: admin.decide(c, a.chat_id, a.approve), ctx, action)
    if isinstance(action, SearchPage):
        query = await subscriber.last_search(ctx)
        if query is None:
            return Reply("That search has expired; send /search again.")
        return await _run(lambda c, a: subscriber.handle_search(c, p.Search(query), a.page), ctx, action)
    return await _run(_alert_button, ctx, action)


def _ids_in_range(action: object) -> bool:
    """Button data is the user's to forge: every number in it must fit a 64-bit id."""
    numbers = [getattr(action, name) for name in ("post_id", "chat_id", "page") if hasattr(action, name)]
    return all(p.in_id_range(n) for n in numbers)


async def _alert_button(ctx: Ctx, action: Feedback | MuteRule) -> Reply:
    sub = await chat_subscriber(ctx)
    if sub is None:
        return Reply(subscriber.NOT_SUBSCRIBED)
    if isinstance(action, MuteRule):
        if ctx.is_group and not ctx.is_chat_admin:
            return Reply(subscriber.NOT_CHAT_ADMIN)
        until = ctx.now + timedelta(days=1)
        await ctx.store.write(lambda c: access.mute_rule(c, sub.id, action.rule_id, until, ctx.actor, ctx.now))
        return Reply(f"Rule <code>{esc(action.rule_id)}</code> muted for this chat for a day.")
    rules = await _alert_rules(ctx, sub.id, action)
    for rule_id in rules:
        await ctx.store.write(lambda c, r=rule_id: access.record_feedback(
            c, sub.id, action.post_id, r, action.relevant, ctx.now))
    return Reply("Thanks, noted: " + ("relevant." if action.relevant else "not relevant."))


async def _alert_rules(ctx: Ctx, subscriber_id: int, action: Feedback) -> list[str]:
    """The button's rule, or for "*" every rule of the alert it was under. Only an alert this
    chat was sent counts, and only for its own rules: forged button data changes nothing."""
    rules = await alert_rule_ids(ctx.store, subscriber_id, action.post_id)
    if not rules or (action.rule_id != "*" and action.rule_id not in rules):
        raise p.UsageError("This alert is not in this chat's history any more")
    return rules if action.rule_id == "*" else [action.rule_id]
