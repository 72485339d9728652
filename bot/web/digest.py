"""The digest page: any day's digest as its subscriber gets it (the text) with its chart (PNG).

A viewer with a subscriber row sees their own digest (their rules, zone and digest
time); others (admins without one) the digest of every rule in DOZOR_TZ at
DOZOR_DIGEST_TIME. Built by bot/digest/jobs.py, the code that sends digests.
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.commands.roles import Role
from bot.digest.jobs import build_day_digest, chart_png, last_due_day
from bot.digest.render import render_text
from bot.storage.subscribers import subscriber_by_chat
from bot.web.present import form_day


def routes(console) -> list[Route]:
    guard = console.guard(Role.SUBSCRIBER)

    async def whose(viewer) -> tuple[int | None, str, str]:
        sub = await subscriber_by_chat(console.store, viewer.user_id, active_only=True)
        if sub is not None:
            return sub.id, sub.tz, sub.digest_time
        return None, console.settings.tz, console.settings.digest_time

    async def build(request: Request, viewer):
        subscriber_id, tz, digest_time = await whose(viewer)
        now = console.clock()
        day = form_day(request.query_params.get("day")) or last_due_day(now, digest_time, tz)
        digest = await build_day_digest(console.store, day, now, tz, digest_time, subscriber_id,
                                        console.settings.dedup_threshold)
        return day, digest, tz, digest_time

    async def page(request: Request, viewer) -> Response:
        day, digest, tz, digest_time = await build(request, viewer)
        has_chart = any(sum(values) for values in digest.chart_series.values())
        return console.render(request, viewer, "digest.html", day=day, text=render_text(digest),
                              has_chart=has_chart, digest_tz=tz, digest_time=digest_time)

    async def chart(request: Request, viewer) -> Response:
        _, digest, _, _ = await build(request, viewer)
        return Response(chart_png(digest), media_type="image/png",
                        headers={"Cache-Control": "private, max-age=300"})

    return [Route("/digest", guard(page)), Route("/digest/chart.png", guard(chart))]
