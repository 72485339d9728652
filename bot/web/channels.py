"""The channels page (operators): status, last post, posts per day over 7 days, warnings
(silent / private / banned), and add / pause / resume / remove, each audited by
bot/storage/channels.py as the bot's /channel commands are.
"""
from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.commands.roles import Role
from bot.formatting import USERNAME
from bot.models import ChannelStatus
from bot.storage import channels as channel_store
from bot.storage import web_overview

RATE_DAYS = 7
SHOWN = tuple(status for status in ChannelStatus if status != ChannelStatus.REMOVED)  # replay-only ones too


def routes(console) -> list[Route]:
    guard = console.guard(Role.OPERATOR)

    async def page(request: Request, viewer, notice: str | None = None, status: int = 200) -> Response:
        since = console.clock() - timedelta(days=RATE_DAYS)
        counts = await web_overview.channel_post_counts(console.store, since)
        rows = [{"c": c, "per_day": f"{counts.get(c.id, 0) / RATE_DAYS:.1f}"}
                for c in await channel_store.list_channels(console.store, SHOWN)]
        failed = await channel_store.failed_requests(console.store)
        requests_ = [{"ref": ref, "error": failed.get(ref)} for ref in await channel_store.list_requests(console.store)]
        return console.render(request, viewer, "channels.html", status, rows=rows, requests=requests_,
                              notice=notice)

    async def add(request: Request, viewer) -> Response:
        name = str((await request.form()).get("username") or "").strip().lstrip("@")
        if not USERNAME.match(name):
            return await page(request, viewer, f"not a channel username: {name!r}", 400)
        fresh = await channel_store.add_request(console.store, name, viewer.actor)
        return await page(request, viewer, f"@{name}: " + ("queued" if fresh else "already queued"))

    async def change(request: Request, viewer) -> Response:
        form = await request.form()
        action, ref = request.path_params["action"], str(form.get("channel") or "")
        if action == "remove":
            label = await channel_store.remove_channel(console.store, ref, viewer.actor)
            return await page(request, viewer, f"{label}: removed" if label else "not found", 200 if label else 404)
        if not ref.lstrip("-").isdigit():
            return await page(request, viewer, "not found", 404)
        status = ChannelStatus.PAUSED if action == "pause" else ChannelStatus.ACTIVE
        done = await channel_store.set_status(console.store, int(ref), status, viewer.actor)
        return await page(request, viewer, f"{ref}: {status}" if done else f"{ref}: unchanged (unconfirmed private "
                                                                          "chats need an admin's confirmation)")

    return [
        Route("/channels", guard(page)),
        Route("/channels/add", guard(add), methods=["POST"]),
        Route("/channels/{action:str}", guard(_only(("pause", "resume", "remove"), change)), methods=["POST"]),
    ]


def _only(actions, handler):
    async def checked(request: Request, viewer) -> Response:
        if request.path_params["action"] not in actions:
            return Response("unknown action", status_code=404)
        return await handler(request, viewer)
    return checked
