"""Roles: admins come from settings.admins; operators and subscribers are rows in
`subscribers`. Everyone else is a stranger and only ever gets the access message.
"""
from __future__ import annotations

from enum import IntEnum

from bot.commands.context import Ctx
from bot.models import Subscriber
from bot.storage.subscribers import subscriber_by_chat


class Role(IntEnum):
    STRANGER = 0
    SUBSCRIBER = 1
    OPERATOR = 2
    ADMIN = 3


ACCESS_MESSAGE = (
    "Dozor is a private bot for journalists. To ask for access, send /start and an admin "
    "will approve it; if you have an invite code, send /start CODE."
)


def role_of_row(sub: Subscriber | None) -> Role:
    if sub is None or not sub.active:
        return Role.STRANGER
    return Role.OPERATOR if sub.role in ("operator", "admin") else Role.SUBSCRIBER


async def user_role(ctx: Ctx) -> Role:
    """The sender's own role (their private chat's row, or admin from settings).

    A negative sender id is a chat speaking as itself (a group's anonymous admin, a
    channel): it never holds a person's role."""
    if ctx.user_id <= 0:
        return Role.STRANGER
    if ctx.user_id in tuple(ctx.settings.admins or ()):
        return Role.ADMIN
    return role_of_row(await subscriber_by_chat(ctx.store, ctx.user_id, active_only=True))


async def chat_subscriber(ctx: Ctx) -> Subscriber | None:
    """The subscriber row of the chat the command came from (a user or a group)."""
    return await subscriber_by_chat(ctx.store, ctx.chat_id, active_only=True)


async def effective_role(ctx: Ctx) -> Role:
    """What the sender may do here: in a private chat their own role; in a group only what the
    group itself may (subscriber if it subscribes, else stranger), whoever the sender is, so
    search results, rules and invite codes never reach a chat that is not a subscriber."""
    if not ctx.is_group:
        return await user_role(ctx)
    return Role.SUBSCRIBER if await chat_subscriber(ctx) is not None else Role.STRANGER


def may_change_chat(ctx: Ctx) -> bool:
    """Only a group's admins change the group's subscription; in private chats, the user."""
    return not ctx.is_group or ctx.is_chat_admin
