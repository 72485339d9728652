"""Admin commands: invites, access requests, roles and the audit log."""
from __future__ import annotations

from datetime import timedelta

from bot.commands import parse as p
from bot.delivery.buttons import decision_buttons
from bot.commands.context import Ctx, Reply, join_lines
from bot.commands.operator import find_channel
from bot.commands.subscriber import new_invite_code
from bot.formatting import escape as esc
from bot.models import Outgoing
from bot.storage import access, channels
from bot.storage.audit import audit_entries


async def handle_invite(ctx: Ctx, cmd: p.Invite) -> Reply:
    """A one-time code, stored only as its hash, valid for settings.invite_days."""
    code = new_invite_code()
    expires = ctx.now + timedelta(days=ctx.settings.invite_days)
    await ctx.store.write(lambda c: access.create_invite(c, code, cmd.role, ctx.actor, ctx.now, expires))
    return Reply(f"Invite for one {esc(cmd.role)}: they send the bot\n<code>/start {esc(code)}</code>\n"
                 f"Valid until {expires:%Y-%m-%d %H:%M} UTC, once. Dozor keeps only its hash: "
                 "this message is the only copy.")


async def handle_channel_confirm(ctx: Ctx, cmd: p.ChannelConfirm) -> Reply:
    """An admin's explicit yes to watching a private group or channel (audited)."""
    row = await find_channel(ctx, cmd.ref)
    if row is None:
        return Reply(f"No channel {esc(cmd.ref)}. /channels lists them.")
    await channels.confirm_private(ctx.store, row.id, ctx.actor)
    return Reply(f"{esc(row.label)} {esc(row.title or '')} is confirmed: Dozor watches it "
                 "and its messages reach every subscriber.")


async def handle_requests(ctx: Ctx, cmd: p.Requests) -> Reply:
    pending = await access.pending_requests(ctx.store)
    if not pending:
        return Reply("No pending access requests.")
    first = pending[0]
    lines = [f"<b>{len(pending)} pending</b>"]
    lines += [f"• {esc(r['title'])} <code>{r['chat_id']}</code> since {esc(r['requested_at'][:16])}"
              for r in pending]
    return Reply(join_lines(lines), buttons=decision_buttons(first["chat_id"]))


async def decide(ctx: Ctx, chat_id: int, approve: bool) -> Reply:
    done = await ctx.store.write(lambda c: access.decide_request(c, chat_id, approve, ctx.actor, ctx.now))
    if done is None:
        return Reply(f"No pending request from <code>{chat_id}</code>.")
    if approve:
        welcome = Outgoing(chat_id, "Your access to Dozor was approved. Send /help to see the commands.")
        return Reply(f"Approved {esc(done['title'])} <code>{chat_id}</code>.", notify=(welcome,))
    return Reply(f"Denied {esc(done['title'])} <code>{chat_id}</code>.")


async def handle_decide(ctx: Ctx, cmd: p.Decide) -> Reply:
    return await decide(ctx, cmd.chat_id, cmd.approve)


async def handle_role(ctx: Ctx, cmd: p.SetRole) -> Reply:
    if cmd.role == "operator" and cmd.chat_id < 0:
        return Reply("Only a person can be an operator, not a group.")
    done = await ctx.store.write(lambda c: access.set_role(c, cmd.chat_id, cmd.role, ctx.actor, ctx.now))
    if not done:
        return Reply(f"<code>{cmd.chat_id}</code> is not a subscriber; invite them first (/invite).")
    return Reply(f"<code>{cmd.chat_id}</code> is now {esc(cmd.role)}.")


async def handle_audit(ctx: Ctx, cmd: p.Audit) -> Reply:
    rows = await audit_entries(ctx.store, limit=cmd.limit, newest_first=True)
    if not rows:
        return Reply("The audit log is empty.")
    lines = [f"<b>Last {len(rows)} changes</b>"]
    for r in rows:
        change = f"{p.shorten(r['before'] or '∅', 120)} → {p.shorten(r['after'] or '∅', 120)}"
        lines.append(f"• {esc(r['at'][:16])} {esc(r['actor'])} {esc(r['action'])} "
                     f"{esc(r['object_kind'])} <code>{esc(r['object_id'])}</code>: {esc(change)}")
    return Reply(join_lines(lines))
