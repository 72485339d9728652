"""The alerts page: delivered alerts newest first, filtered, paged, live over server-sent events,
with relevant / not relevant feedback stored as the bot's buttons store it.

Subscribers see their own alerts; operators and admins every delivered post once.
The live feed (/alerts/stream) looks at the outbox every `console.sse_every` seconds
and sends each newly delivered alert as an `alert` event holding its card's HTML.
"""
from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from bot.commands.roles import Role
from bot.storage import web_alerts
from bot.storage.subscribers import subscriber_by_chat
from bot.storage.web_alerts import AlertFilter
from bot.web.present import alert_filter, channel_label, highlighted, link_of

log = logging.getLogger(__name__)
PAGE = 30


async def scope_of(console, viewer) -> int | None:
    """Whose alerts the viewer sees: a subscriber their own (-1: none yet), operators everyone's (None)."""
    if viewer.role >= Role.OPERATOR:
        return None
    sub = await subscriber_by_chat(console.store, viewer.user_id, active_only=True)
    return sub.id if sub is not None else -1


async def cards(console, viewer, rows: list[dict]) -> list[dict]:
    """Rows with what a card shows: matches, highlighted text, edits, also-in, the viewer's votes."""
    store, ids = console.store, [r["post_id"] for r in rows]
    matches = await web_alerts.matches_of_posts(store, ids)
    edits = await web_alerts.edits_of_posts(store, ids)
    also = await web_alerts.also_in(store, ids)
    me = await subscriber_by_chat(store, viewer.user_id, active_only=False)
    votes = await web_alerts.my_votes(store, me.id if me else None, ids)
    out = []
    for row in rows:
        found = matches.get(row["post_id"], [])
        spans = [s for m in found for s in m["spans"]]
        out.append({**row, "matches": found, "html": highlighted(row["text"], spans),
                    "label": channel_label(row), "link": link_of(row), "edits": edits.get(row["post_id"], []),
                    "also": [{"label": channel_label(a), "link": link_of(a)} for a in also.get(row["post_id"], [])],
                    "votes": {rule: v for (post, rule), v in votes.items() if post == row["post_id"]}})
    return out


def routes(console) -> list[Route]:
    guard = console.guard

    async def load(request: Request, viewer) -> tuple[AlertFilter, list[dict]]:
        flt = alert_filter(request.query_params, console.tz(request), await scope_of(console, viewer))
        before = None
        cursor = request.query_params.get("before", "")
        if "|" in cursor:
            sent_at, _, alert_id = cursor.partition("|")
            before = (sent_at, int(alert_id)) if alert_id.isdigit() else None
        rows = await web_alerts.delivered_alerts(console.store, flt, PAGE + 1, before)
        return flt, rows

    async def page(request: Request, viewer) -> Response:
        flt, rows = await load(request, viewer)
        since = await web_alerts.last_delivery(console.store) or console.clock().isoformat(timespec="seconds")
        return console.render(request, viewer, "alerts.html", alerts=await cards(console, viewer, rows[:PAGE]),
                              more=_cursor(rows), facets=await web_alerts.alert_facets(console.store),
                              params=request.query_params, since=since)

    async def listing(request: Request, viewer) -> Response:
        _, rows = await load(request, viewer)
        return console.render(request, viewer, "_alert_list.html", alerts=await cards(console, viewer, rows[:PAGE]),
                              more=_cursor(rows), params=request.query_params)

    async def stream(request: Request, viewer) -> Response:
        flt = alert_filter(request.query_params, console.tz(request), await scope_of(console, viewer))
        since = request.query_params.get("since") or console.clock().isoformat(timespec="seconds")
        return StreamingResponse(live_events(request, viewer, flt, since), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def live_events(request: Request, viewer, flt: AlertFilter, since: str):
        shown: set[int] = set()
        rounds = 0
        yield ": live\n\n"
        while not await request.is_disconnected():
            if console.sse_rounds is not None and rounds >= console.sse_rounds:
                return
            rounds += 1
            rows = [r for r in await web_alerts.alerts_delivered_since(console.store, flt, since)
                    if r["alert_id"] not in shown]
            for card in await cards(console, viewer, rows):
                shown.add(card["alert_id"])
                since = max(since, card["sent_at"])
                html = console.render(request, viewer, "_alert.html", a=card).body.decode()
                yield "event: alert\n" + "".join(f"data: {line}\n" for line in html.splitlines()) + "\n"
            await asyncio.sleep(console.sse_every)

    async def feedback(request: Request, viewer) -> Response:
        form = await request.form()
        post_id, rule_id = form.get("post_id", ""), str(form.get("rule_id", ""))
        if not str(post_id).isdigit() or not rule_id or form.get("relevant") not in ("1", "0"):
            return HTMLResponse("bad feedback", status_code=400)
        relevant = form.get("relevant") == "1"
        await web_alerts.record_web_feedback(console.store, viewer.user_id, int(post_id), rule_id, relevant,
                                             console.clock())
        return console.render(request, viewer, "_vote.html", post_id=int(post_id), rule_id=rule_id, vote=relevant)

    return [
        Route("/", guard(Role.SUBSCRIBER)(page)),
        Route("/alerts/list", guard(Role.SUBSCRIBER)(listing)),
        Route("/alerts/stream", guard(Role.SUBSCRIBER)(stream)),
        Route("/alerts/feedback", guard(Role.SUBSCRIBER)(feedback), methods=["POST"]),
    ]


def _cursor(rows: list[dict]) -> str | None:
    """The `before` cursor of the next page, when there is one."""
    if len(rows) <= PAGE:
        return None
    last = rows[PAGE - 1]
    return f"{last['sent_at']}|{last['alert_id']}"
