"""Operator commands: rules (validated before they are written), backtests, channels, stats."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

from bot.commands import parse as p
from bot.commands.context import Ctx, Reply, join_lines
from bot.formatting import escape as esc
from bot.history.backtest import backtest_lines, resolve_target, run_backtest
from bot.models import ChannelStatus, RuleDef
from bot.rules import rule_warnings, validate_change
from bot.storage import access, channels
from bot.storage.channels import list_channels, list_requests
from bot.storage.rules import delete_rule, get_rule, load_rule_defs, upsert_rule

SILENT_HOURS = 24


def rule_html(rule: RuleDef) -> str:
    lines = [f"<b>{esc(rule.id)}</b>{' — ' + esc(rule.title) if rule.title else ''}"
             f"{'' if rule.enabled else ' (off)'}",
             f"query: <code>{esc(rule.query)}</code>"]
    if rule.exclude:
        lines.append(f"exclude: <code>{esc(rule.exclude)}</code>")
    if rule.tags:
        lines.append("tags: " + esc(", ".join(rule.tags)))
    if rule.channels_include or rule.channels_exclude:
        lines.append("channels: " + esc(", ".join(rule.channels_include) or "all")
                     + (" except " + esc(", ".join(rule.channels_exclude)) if rule.channels_exclude else ""))
    lines.append(f"severity: {esc(rule.severity)}")
    return "\n".join(lines)


async def handle_rules(ctx: Ctx, cmd: p.Rules) -> Reply:
    rules = await load_rule_defs(ctx.store)
    if not rules:
        return Reply("No rules yet. Add one: " + esc(p.USAGE["rule"]))
    lines = [f"<b>{len(rules)} rules</b>"]
    for rule in rules:
        state = "" if rule.enabled else " (off)"
        lines.append(f"• <code>{esc(rule.id)}</code>{state}: {esc(p.shorten(rule.query, 120))}")
    return Reply(join_lines(lines))


async def handle_rule_show(ctx: Ctx, cmd: p.RuleShow) -> Reply:
    rule = await get_rule(ctx.store, cmd.rule_id)
    return Reply(rule_html(rule) if rule else _no_rule(cmd.rule_id))


def _no_rule(rule_id: str) -> str:
    return f"There is no rule <code>{esc(rule_id)}</code>. /rules lists them."


async def save_rule(ctx: Ctx, rule: RuleDef) -> str:
    """Validate the whole set with the change (RuleSyntaxError: nothing is written), write, reload.

    Returns the rule's warnings (`or` written as a word, ANDD, NEAR3) as HTML lines, or ""."""
    validate_change(await load_rule_defs(ctx.store), [rule])
    await ctx.store.write(lambda c: upsert_rule(c, rule, ctx.actor))
    await _rules_changed(ctx)
    warnings = rule_warnings([rule])
    return "".join(f"\n⚠️ <code>{esc(w.removeprefix('warning: '))}</code>" for w in warnings)


async def _rules_changed(ctx: Ctx) -> None:
    if ctx.on_rules_changed is not None:
        await ctx.on_rules_changed()


async def handle_rule_add(ctx: Ctx, cmd: p.RuleAdd) -> Reply:
    if await get_rule(ctx.store, cmd.rule_id) is not None:
        return Reply(f"Rule <code>{esc(cmd.rule_id)}</code> exists already; use /rule edit.")
    rule = RuleDef(id=cmd.rule_id, query=cmd.query)
    warnings = await save_rule(ctx, rule)
    return Reply("Added and live:\n" + rule_html(rule) + warnings)


async def handle_rule_edit(ctx: Ctx, cmd: p.RuleEdit) -> Reply:
    old = await get_rule(ctx.store, cmd.rule_id)
    if old is None:
        return Reply(_no_rule(cmd.rule_id))
    rule = dataclasses.replace(old, query=cmd.query)
    warnings = await save_rule(ctx, rule)
    return Reply("Changed and live:\n" + rule_html(rule) + warnings)


async def handle_rule_toggle(ctx: Ctx, cmd: p.RuleToggle) -> Reply:
    old = await get_rule(ctx.store, cmd.rule_id)
    if old is None:
        return Reply(_no_rule(cmd.rule_id))
    if old.enabled == cmd.enabled:
        return Reply(f"Rule <code>{esc(cmd.rule_id)}</code> is {'on' if cmd.enabled else 'off'} already.")
    await save_rule(ctx, dataclasses.replace(old, enabled=cmd.enabled))
    return Reply(f"Rule <code>{esc(cmd.rule_id)}</code> is now {'on' if cmd.enabled else 'off'}.")


async def handle_rule_del(ctx: Ctx, cmd: p.RuleDel) -> Reply:
    deleted = await ctx.store.write(lambda c: delete_rule(c, cmd.rule_id, ctx.actor))
    if not deleted:
        return Reply(_no_rule(cmd.rule_id))
    await _rules_changed(ctx)
    return Reply(f"Rule <code>{esc(cmd.rule_id)}</code> deleted.")


async def handle_rule_test(ctx: Ctx, cmd: p.RuleTest) -> Reply:
    target = await resolve_target(ctx.store, cmd.target)
    spans = target.spans(cmd.text, None, None)
    if not spans:
        return Reply(f"{esc(target.label)}: <b>no match</b>.")
    marked, last = [], 0
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        marked += [esc(cmd.text[last:start]), "<b>", esc(cmd.text[start:end]), "</b>"]
        last = end
    marked.append(esc(cmd.text[last:]))
    body = "".join(marked)
    if len(body) > 3800:  # escaping grew it past Telegram's limit: list the words instead
        body = esc(", ".join(p.shorten(cmd.text[a:b], 60) for a, b in spans[:50]))
    return Reply(f"{esc(target.label)}: <b>match</b>\n" + body)


async def handle_backtest(ctx: Ctx, cmd: p.Backtest) -> Reply:
    target = await resolve_target(ctx.store, cmd.target)
    result = await run_backtest(ctx.store, target, ctx.now, cmd.days, lemmatize=ctx.lemmatize, tz=ctx.settings.tz)
    lines = [esc(line) for line in backtest_lines(result)]
    lines[0] = f"<b>{lines[0]}</b>"
    return Reply(join_lines(lines))


async def handle_channels(ctx: Ctx, cmd: p.Channels) -> Reply:
    rows, waiting = await list_channels(ctx.store), await list_requests(ctx.store)
    if not rows and not waiting:
        return Reply("No channels yet. " + esc(p.USAGE["channel"]))
    lines = [f"<b>{len(rows)} channels</b>"]
    for row in rows:
        seen = row.last_post_at.strftime("%Y-%m-%d %H:%M") if row.last_post_at else "never"
        lines.append(f"• {esc(row.label)} {esc(row.title or '')} — {esc(row.status)}, last post {seen}")
    if waiting:
        lines.append("Waiting to be resolved: " + esc(", ".join("@" + w for w in waiting)))
    return Reply(join_lines(lines))


async def handle_channel(ctx: Ctx, cmd: p.ChannelAction) -> Reply:
    if cmd.action == "add":
        fresh = await channels.add_request(ctx.store, cmd.ref, ctx.actor)
        return Reply(f"@{esc(cmd.ref)} " + ("will be resolved and watched by the watcher."
                                          if fresh else "is queued already.")
                     + " A private group or channel (no username) waits for an admin's /channel confirm.")
    if cmd.action == "del":
        label = await channels.remove_channel(ctx.store, cmd.ref, ctx.actor)
        return Reply(f"{esc(label)} is no longer watched." if label else f"No channel {esc(cmd.ref)}.")
    row = await find_channel(ctx, cmd.ref)
    if row is None:
        return Reply(f"No channel {esc(cmd.ref)}. /channels lists them.")
    status = ChannelStatus.PAUSED if cmd.action == "pause" else ChannelStatus.ACTIVE
    if not await channels.set_status(ctx.store, row.id, status, ctx.actor):
        return Reply(f"{esc(row.label)} is a private group or channel: an admin must /channel confirm it first.")
    return Reply(f"{esc(row.label)} is now {status}.")


async def find_channel(ctx: Ctx, ref: str):
    """The stored channel a /channel argument names (a marked id or a username), or None."""
    return await (channels.get_channel(ctx.store, int(ref)) if ref.lstrip("-").isdigit()
                  else channels.find_by_username(ctx.store, ref))


async def handle_stats(ctx: Ctx, cmd: p.Stats) -> Reply:
    day_start = ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
    stats = await access.collect_stats(ctx.store, day_start, ctx.now - timedelta(hours=SILENT_HOURS))
    lines = [
        "<b>Today (UTC)</b>",
        f"posts read: {stats['posts_today']}, alerts sent: {stats['sent_today']}",
        f"queue: {stats['queue']}, parked: {stats['parked']}",
        f"subscribers active: {stats['subscribers_active']}"
        + ("  ⚠️ <b>nobody is alerted</b>: matches are stored only" if not stats["subscribers_active"] else ""),
        "matches per rule: " + (esc(", ".join(f"{r} {n}" for r, n in stats["matches_today"])) or "none"),
        "<b>Precision from feedback</b>",
    ]
    for rule_id, (good, votes) in sorted(stats["precision"].items()):
        lines.append(f"• {esc(rule_id)}: {good / votes:.0%} ({good} of {votes} relevant)")
    if not stats["precision"]:
        lines.append("no feedback yet")
    lines.append("<b>Last post per channel</b>")
    for ch in stats["channels"][:20]:
        name = "@" + ch["username"] if ch["username"] else (ch["title"] or str(ch["id"]))
        lines.append(f"• {esc(name)}: {esc((ch['last_post_at'] or 'never')[:16].replace('T', ' '))}")
    if stats["silent"]:
        names = ", ".join("@" + c["username"] if c["username"] else str(c["id"]) for c in stats["silent"])
        lines.append(f"<b>Silent for {SILENT_HOURS}h</b>: " + esc(names))
    return Reply(join_lines(lines))
