"""The search page: the rule language over every stored post, highlighted, paged, with a per-day
chart and CSV / JSONL export of the result.

Pages come from bot/history/search.py (the bot's /search), the chart from
bot/history/backtest.py's per-day counts (loaded after the first page, so the
page never waits for it). Export walks the pages up to EXPORT_LIMIT posts.
"""
from __future__ import annotations

import json
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.commands.roles import Role
from bot.history.backtest import query_target, run_backtest
from bot.history.export import csv_bytes
from bot.history.search import search_posts
from bot.rules import RuleSyntaxError
from bot.web.charts import bar_chart
from bot.web.present import day_start, form_day, highlighted

PER_PAGE = 20
CHART_DAYS = 90
EXPORT_LIMIT = 5000
EXPORT_COLUMNS = ("id", "date", "channel", "link", "excerpt")


def routes(console) -> list[Route]:
    guard = console.guard

    def target_of(request: Request):
        query = (request.query_params.get("q") or "").strip()
        return query, (query_target(query, max_regex=1) if query else None)

    async def page(request: Request, viewer) -> Response:
        return console.render(request, viewer, "search.html", q=request.query_params.get("q", ""))

    async def results(request: Request, viewer) -> Response:
        try:
            query, target = target_of(request)
        except RuleSyntaxError as exc:
            return console.render(request, viewer, "_syntax.html", error=exc, source=request.query_params.get("q", ""))
        if target is None:
            return Response("")
        number = _page_number(request)
        found = await search_posts(console.store, target, number, PER_PAGE, budget=console.settings.search_budget)
        return console.render(request, viewer, "_search_results.html", found=found, q=query,
                              posts=[_highlight(p, target) for p in found.posts])

    async def chart(request: Request, viewer) -> Response:
        try:
            query, target = target_of(request)
        except RuleSyntaxError:
            return Response("")
        if target is None:
            return Response("")
        end = min(form_day(request.query_params.get("end")) or console.clock().date(), console.clock().date())
        result = await run_backtest(console.store, target, day_start(end + timedelta(days=1), "UTC"), days=CHART_DAYS)
        counts = dict(result.per_day)
        return console.render(request, viewer, "_search_chart.html", total=result.total, days=CHART_DAYS,
                              end=end, svg=bar_chart(counts, end, CHART_DAYS, label=query))

    async def export(request: Request, viewer) -> Response:
        fmt = request.path_params["fmt"]
        try:
            query, target = target_of(request)
        except RuleSyntaxError as exc:
            return Response(str(exc), status_code=400, media_type="text/plain")
        if target is None:
            return Response("no query", status_code=400, media_type="text/plain")
        posts = await _all_posts(console, target)
        if fmt == "csv":
            body = csv_bytes(EXPORT_COLUMNS, ([p[c] or "" for c in EXPORT_COLUMNS] for p in posts))
            media = "text/csv; charset=utf-8"
        else:
            body = "".join(json.dumps({c: p[c] for c in EXPORT_COLUMNS}, ensure_ascii=False) + "\n"
                           for p in posts).encode()
            media = "application/x-ndjson"
        return Response(body, media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="dozor-search.{fmt}"'})

    return [
        Route("/search", guard(Role.SUBSCRIBER)(page)),
        Route("/search/results", guard(Role.SUBSCRIBER)(results)),
        Route("/search/chart", guard(Role.SUBSCRIBER)(chart)),
        Route("/search/export.{fmt:str}", guard(Role.SUBSCRIBER)(_only_formats(export))),
    ]


def _only_formats(handler):
    async def checked(request: Request, viewer) -> Response:
        if request.path_params["fmt"] not in ("csv", "jsonl"):
            return Response("unknown format", status_code=404)
        return await handler(request, viewer)
    return checked


async def _all_posts(console, target) -> list[dict]:
    """Every post the query finds, newest first, up to EXPORT_LIMIT."""
    found = await search_posts(console.store, target, 1, EXPORT_LIMIT, budget=None)
    return found.posts


def _page_number(request: Request) -> int:
    text = request.query_params.get("page", "1")
    return max(1, int(text)) if text.isdigit() else 1


def _highlight(post: dict, target) -> dict:
    """The post with its excerpt highlighted where the query matches it."""
    text = post["excerpt"] or ""
    return {**post, "html": highlighted(text, target.spans(text, None, None))}
