"""The people page (admins): subscribers and their roles, invites, access requests and the
audit log. Every change goes through bot/storage/access.py, audited as the bot's admin
commands are, with the actor 'web:<user id>'.
"""
from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.commands.roles import Role
from bot.commands.subscriber import new_invite_code
from bot.storage import access, web_overview
from bot.storage.audit import audit_entries

ROLES = ("subscriber", "operator")
AUDIT_ROWS = 100


def routes(console) -> list[Route]:
    guard = console.guard(Role.ADMIN)

    async def page(request: Request, viewer, status: int = 200, **extra) -> Response:
        store = console.store
        return console.render(
            request, viewer, "people.html", status, subscribers=await web_overview.all_subscribers(store),
            invites=await web_overview.invite_list(store), requests=await access.pending_requests(store),
            audit=await audit_entries(store, limit=AUDIT_ROWS, newest_first=True), roles=ROLES, **extra)

    async def set_role(request: Request, viewer) -> Response:
        form = await request.form()
        chat, role = str(form.get("chat_id") or ""), str(form.get("role") or "")
        if not chat.lstrip("-").isdigit() or role not in ROLES:
            return await page(request, viewer, 400, notice="bad role change")
        now = console.clock()
        done = await console.store.write(lambda c: access.set_role(c, int(chat), role, viewer.actor, now))
        return await page(request, viewer, notice=f"{chat}: {role}" if done else f"{chat}: not an active subscriber")

    async def remove(request: Request, viewer) -> Response:
        chat = str((await request.form()).get("chat_id") or "")
        if not chat.lstrip("-").isdigit():
            return await page(request, viewer, 400, notice="bad subscriber")
        now = console.clock()
        done = await console.store.write(lambda c: access.remove_subscriber(c, int(chat), viewer.actor, now))
        return await page(request, viewer, notice=f"{chat}: removed" if done else f"{chat}: not active")

    async def invite(request: Request, viewer) -> Response:
        role = str((await request.form()).get("role") or "subscriber")
        if role not in ROLES:
            return await page(request, viewer, 400, notice="bad role")
        code, now = new_invite_code(), console.clock()
        expires = now + timedelta(days=console.settings.invite_days)
        await console.store.write(lambda c: access.create_invite(c, code, role, viewer.actor, now, expires))
        return await page(request, viewer, new_code=code, new_code_role=role, new_code_expires=expires)

    async def decide(request: Request, viewer) -> Response:
        form = await request.form()
        chat, approve = str(form.get("chat_id") or ""), form.get("decision") == "approve"
        if not chat.lstrip("-").isdigit():
            return await page(request, viewer, 400, notice="bad request")
        now = console.clock()
        done = await console.store.write(lambda c: access.decide_request(c, int(chat), approve, viewer.actor, now))
        return await page(request, viewer, notice=f"{chat}: {done['decision']}" if done else f"{chat}: not pending")

    return [
        Route("/people", guard(page)),
        Route("/people/role", guard(set_role), methods=["POST"]),
        Route("/people/remove", guard(remove), methods=["POST"]),
        Route("/people/invite", guard(invite), methods=["POST"]),
        Route("/people/decide", guard(decide), methods=["POST"]),
    ]
