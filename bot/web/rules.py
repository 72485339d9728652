"""The rules pages (operators): the list with 14-day sparklines, precision and last change, and
the editor: syntax check as you type, "test on this text" with the explain tree, a preview
over a date range against the saved version, and save (validated, diffed, audited).

Checks go through the one validation entry point (bot/rules/validate.py); saving is
bot/storage/rules.py's upsert_rule, which audits the change and bumps the rules version
so running processes reload. Previews use bot/history/backtest.py's targets and checks.
"""
from __future__ import annotations

import asyncio
import difflib
import logging
import re
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.commands.roles import Role
from bot.history.preview import preview as preview_rule, warm
from bot.models import RuleDef
from bot.rules import RuleSyntaxError, compile_rules, rules_to_toml, validate_change
from bot.storage import web_overview
from bot.storage.access import rule_precision
from bot.storage.rules import get_rule, load_rule_defs, rule_changes, upsert_rule
from bot.web.charts import bar_chart, day_keys, sparkline
from bot.web.present import day_start, form_day

log = logging.getLogger(__name__)

RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")
SPARK_DAYS = 14
PREVIEW_DAYS = 30  # the default range
PREVIEW_MAX_DAYS = 366
LISTED_HITS = 20


async def warm_previews(store, now: datetime) -> None:
    """Work out every saved rule's hits over the longest preview range (PREVIEW_MAX_DAYS), once,
    so an operator's first preview after a start is fast. Runs as a background task beside the
    server: requests never wait for it (a preview meanwhile waits for one rule's work at most)."""
    started = asyncio.get_running_loop().time()
    try:
        rules = await load_rule_defs(store)
        warmed = await warm(store, rules, now - timedelta(days=PREVIEW_MAX_DAYS + 1))
    except asyncio.CancelledError:
        raise
    except Exception:  # a failed warm-up only makes the first preview slower
        log.exception("preview warm-up failed")
        return
    log.info("preview warm-up: %d rules in %.1f s", warmed, asyncio.get_running_loop().time() - started)


def draft_of(form, saved: RuleDef | None = None) -> RuleDef:
    """The rule the editor's form describes; ValueError names a bad field."""
    rule_id = str(form.get("id") or (saved.id if saved else "")).strip()
    if not RULE_ID.match(rule_id):
        raise ValueError("id: letters, digits, '_', '.', '-' (up to 48), starting with a letter or digit")
    query = str(form.get("query") or "")
    if not query.strip():
        raise ValueError("query is empty")
    severity = str(form.get("severity") or "high")
    if severity not in ("high", "low"):
        raise ValueError("severity: high or low")
    return RuleDef(id=rule_id, query=query, title=str(form.get("title") or "").strip(),
                   exclude=str(form.get("exclude") or "").strip() or None, tags=_list(form.get("tags")),
                   channels_include=_list(form.get("channels_include"), lower=True),
                   channels_exclude=_list(form.get("channels_exclude"), lower=True),
                   langs=_list(form.get("langs"), lower=True), severity=severity,
                   enabled=form.get("enabled") in ("1", "on", "true"))


def _list(raw, lower: bool = False) -> tuple[str, ...]:
    items = [part.strip().lstrip("@#") for part in str(raw or "").split(",")]
    return tuple(item.lower() if lower else item for item in items if item)


def rule_diff(before: RuleDef | None, after: RuleDef) -> list[str]:
    """Unified diff of the rule as TOML, before and after."""
    old = rules_to_toml([before]).splitlines() if before else []
    return list(difflib.unified_diff(old, rules_to_toml([after]).splitlines(), "saved", "new", lineterm=""))


def routes(console) -> list[Route]:
    guard = console.guard(Role.OPERATOR)

    async def listing(request: Request, viewer) -> Response:
        today = console.clock().date()
        counts = await web_overview.rule_day_counts(console.store, day_start(today, "UTC") - timedelta(days=13))
        precision, changes = await rule_precision(console.store), await rule_changes(console.store)
        rows = []
        for rule in await load_rule_defs(console.store):
            per_day = counts.get(rule.id, {})
            values = [per_day.get(day, 0) for day in day_keys(today, SPARK_DAYS)]
            good, votes = precision.get(rule.id, (0, 0))
            rows.append({"rule": rule, "spark": sparkline(values), "hits": sum(values),
                         "precision": f"{good / votes:.0%} ({good}/{votes})" if votes else "—",
                         "changed": changes.get(rule.id, ("", None))})
        return console.render(request, viewer, "rules.html", rows=rows)

    async def editor(request: Request, viewer) -> Response:
        rule_id = request.path_params.get("rule_id")
        saved = await get_rule(console.store, rule_id) if rule_id else None
        if rule_id and saved is None:
            return console.render(request, viewer, "error.html", 404, message_key="not_found")
        today = console.clock().date()
        return console.render(request, viewer, "rule_edit.html", rule=saved, is_new=saved is None,
                              preview_from=(today - timedelta(days=PREVIEW_DAYS - 1)).isoformat(),
                              preview_to=today.isoformat())

    async def check(request: Request, viewer) -> Response:
        form = await request.form()
        if not str(form.get("query") or "").strip():
            return Response("")  # nothing written yet: nothing to say
        try:
            draft = draft_of(form)
            compile_rules([draft])
        except RuleSyntaxError as exc:
            return console.render(request, viewer, "_syntax.html", error=exc, source=str(form.get(exc.where) or ""))
        except ValueError as exc:
            return console.render(request, viewer, "_problem.html", problem=str(exc))
        return console.render(request, viewer, "_syntax.html", error=None)

    async def test(request: Request, viewer) -> Response:
        form = await request.form()
        try:
            draft = draft_of(form)
            ruleset = compile_rules([draft])
        except (RuleSyntaxError, ValueError) as exc:
            return console.render(request, viewer, "_problem.html", problem=str(exc))
        explained = await asyncio.to_thread(ruleset.explain, draft.id, str(form.get("sample") or ""))
        return console.render(request, viewer, "_explain.html", text=explained)

    async def preview(request: Request, viewer) -> Response:
        form = await request.form()
        try:
            draft = draft_of(form)
            compile_rules([draft])
        except (RuleSyntaxError, ValueError) as exc:
            return console.render(request, viewer, "_problem.html", problem=str(exc))
        first, last = _range(form, console.clock().date())
        saved = await get_rule(console.store, draft.id)
        since, until = day_start(first, "UTC"), day_start(last + timedelta(days=1), "UTC")
        result = await preview_rule(console.store, draft, saved, since, until, listed=LISTED_HITS)
        drafted = {day: n for day, n, _ in result.days}
        kept = {day: n for day, _, n in result.days}
        days = (last - first).days + 1
        return console.render(
            request, viewer, "_preview.html", first=first, last=last, total_new=len(result.draft.posts),
            total_old=len(result.saved.posts), has_saved=saved is not None, gained=result.added, lost=result.lost,
            gained_count=result.added_total, lost_count=result.lost_total,
            svg=bar_chart(drafted, last, days, compare=kept if saved else None,
                          names=("draft", "saved") if saved else ("draft", "")))

    async def save(request: Request, viewer) -> Response:
        form = await request.form()
        try:
            draft = draft_of(form)
            validate_change(await load_rule_defs(console.store), [draft])  # the whole set must still compile
        except (RuleSyntaxError, ValueError) as exc:
            return console.render(request, viewer, "_problem.html", problem=str(exc))
        before = await get_rule(console.store, draft.id)
        if before == draft:
            return console.render(request, viewer, "_saved.html", diff=[], unchanged=True, rule=draft)
        await console.store.write(lambda conn: upsert_rule(conn, draft, viewer.actor))
        return console.render(request, viewer, "_saved.html", diff=rule_diff(before, draft), unchanged=False,
                              rule=draft)

    return [
        Route("/rules", guard(listing)),
        Route("/rules/new", guard(editor)),
        Route("/rules/edit/{rule_id}", guard(editor)),
        Route("/rules/check", guard(check), methods=["POST"]),
        Route("/rules/test", guard(test), methods=["POST"]),
        Route("/rules/preview", guard(preview), methods=["POST"]),
        Route("/rules/save", guard(save), methods=["POST"]),
    ]


def _range(form, today):
    """The preview's first and last day (UTC dates), at most PREVIEW_MAX_DAYS, defaulting to 30 days."""
    last = form_day(form.get("to")) or today
    first = form_day(form.get("from")) or last - timedelta(days=PREVIEW_DAYS - 1)
    if first > last:
        first, last = last, first
    return max(first, last - timedelta(days=PREVIEW_MAX_DAYS - 1)), last
