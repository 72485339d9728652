"""CLI: `dozor rules suggest RULE [--apply N --yes]` and `dozor feedback POST relevant|not RULE`.

`rules suggest` reads the live rule, the feedback (alert buttons and marks made
here) and the stored posts, and prints numbered suggestions (bot/rules/suggest.py)
with the stored hits each would add or remove. Nothing changes until an
operator applies one: `--apply N` shows the change, and writes it (through the
audited rule update, actor "cli") after `--yes` or a "y" typed on a terminal.
`feedback` marks a stored post relevant or not for a rule, as a button would.
Handlers are `fn(args, settings) -> int`; they raise a DozorError for what the user
must fix (bot/__main__.py prints it as one line, exit code 2).
"""
from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field

from bot.cli.progress import progress_bar
from bot.clock import utc_now
from bot.errors import UsageError
from bot.formatting import plural
from bot.models import RuleDef
from bot.rules import compile_query, validate_change
from bot.rules import suggest as sg
from bot.storage import open_store
from bot.storage import rule_feedback as rf
from bot.storage.lemma_index import refresh_lemma_index
from bot.storage.rules import get_rule, load_rule_defs, upsert_rule

ACTOR = "cli"
SCAN_LIMIT = 3_000  # newest posts checked when a rule has no indexable word
COMMON_SAMPLE = 2_000  # newest posts the stop list is learnt from
SHOWN = 4  # example posts printed per suggestion


@dataclass
class Plan:
    """One rule's suggestions, each with its effect on the stored posts and the marks among them."""

    rule: RuleDef
    hits: set[int]
    labels: dict[int, bool]  # post id -> marked relevant (True) / not (False) for this rule
    anywhere: dict[int, bool]  # the same under any rule (alternatives are judged by these)
    missed: int
    items: list[tuple[sg.Suggestion, sg.Effect]] = field(default_factory=list)
    refs: dict[int, str] = field(default_factory=dict)


def _as_posts(stored) -> list[sg.Post]:
    return [sg.Post(p.id, p.text, p.channel, p.channel_id) for p in stored]


async def _stored_hits(store, rule: RuleDef, extra: list[sg.Post]) -> tuple[list[sg.Post], set[int], dict]:

    fts = compile_query(rule.query).fts_query()
    stored = await (rf.posts_by_lemma_query(store, fts) if fts else rf.newest_posts(store, SCAN_LIMIT))
    posts = {p.id: p for p in _as_posts(stored) + extra}
    hits = sg.rule_hits(rule, posts.values())
    refs = {p.id: p.ref for p in stored}
    return [posts[i] for i in sorted(hits)], hits, refs


async def build_plan(store, rule: RuleDef, limit: int) -> Plan:
    """Suggestions for `rule` from the stored feedback, with their effects (reads only)."""

    votes = await rf.feedback_votes(store)
    marked_rows = await rf.posts_by_ids(store, votes)
    marked = _as_posts(marked_rows)
    hit_posts, hits, refs = await _stored_hits(store, rule, marked)
    refs.update({p.id: p.ref for p in marked_rows})
    labels = {p.id: v for p in marked if (v := sg.majority(votes[p.id], rule.id)) is not None}
    anywhere = {p.id: v for p in marked if (v := sg.majority(votes[p.id])) is not None}
    missed = [p for p in marked if p.id not in hits and anywhere.get(p.id) is True]
    background = sg.Background.of(p.text for p in await rf.newest_posts(store, COMMON_SAMPLE))
    found = sg.suggest_vetoes(rule, [p for p in marked if p.id in hits and labels.get(p.id) is True],
                              [p for p in marked if p.id in hits and labels.get(p.id) is False], background, limit)
    found += sg.suggest_alternatives(rule, missed, [p for p in marked if anywhere.get(p.id) is False],
                                     background, limit)
    plan = Plan(rule, hits, labels, anywhere, len(missed), refs=refs)
    for suggestion in found:
        scope = hit_posts
        if suggestion.kind == "alternative":
            more = await rf.posts_by_lemma_query(store, compile_query(suggestion.term).fts_query())
            refs.update({p.id: p.ref for p in more})
            scope = hit_posts + _as_posts(more) + missed
        change = sg.effect(rule, suggestion.apply(rule), scope, before=hits)
        if not sg.floods(suggestion, change):
            plan.items.append((suggestion, change))
    return plan


def _effect_line(plan: Plan, effect: sg.Effect) -> str:
    ids = effect.removed or effect.added
    verb = "removes" if effect.removed else "adds"
    if not ids:
        return "   changes no stored hit"
    labels = plan.labels if effect.removed else plan.anywhere
    good = sum(labels.get(i) is True for i in ids)
    bad = sum(labels.get(i) is False for i in ids)
    shown = ", ".join(plan.refs.get(i, f"#{i}") for i in ids[:SHOWN]) + (", …" if len(ids) > SHOWN else "")
    return (f"   {verb} {len(ids)} stored hit{'s' * (len(ids) != 1)} ({bad} marked not relevant, "
            f"{good} marked relevant): {shown}")


def plan_lines(plan: Plan) -> list[str]:
    good = sum(v for i, v in plan.labels.items() if i in plan.hits)
    bad = sum(not v for i, v in plan.labels.items() if i in plan.hits)
    lines = [f"rule {plan.rule.id}: {plural(len(plan.hits), 'stored hit')}, {good} marked relevant, {bad} marked not "
             f"relevant; {plural(plan.missed, 'post')} marked relevant that it misses"]
    for n, (suggestion, effect) in enumerate(plan.items, start=1):
        lines += [f"{n}. {suggestion.describe()}", _effect_line(plan, effect)]
    if not plan.items:
        lines.append("no suggestions yet: mark more hits relevant or not (alert buttons, `dozor feedback`)")
    else:
        lines.append(f"nothing is changed; apply one with `dozor rules suggest {plan.rule.id} --apply N --yes`")
    return lines


def _confirmed(args) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        return False
    return input("apply this change? [y/N] ").strip().lower() in ("y", "yes")


async def _apply(store, plan: Plan, args) -> int:

    if not 1 <= args.apply <= len(plan.items):
        raise UsageError(f"--apply takes 1 to {len(plan.items)}, the numbers above" if plan.items
                         else "there is nothing to apply")
    suggestion, _ = plan.items[args.apply - 1]
    changed = suggestion.apply(plan.rule)
    validate_change(await load_rule_defs(store), [changed])  # RuleSyntaxError: nothing written
    field_name = "exclude" if suggestion.kind == "veto" else "query"
    print(f"{field_name} before: {getattr(plan.rule, field_name) or '(none)'}")
    print(f"{field_name} after:  {getattr(changed, field_name)}")
    if not _confirmed(args):
        raise UsageError("not applied: add --yes to apply it")
    await store.write(lambda conn: upsert_rule(conn, changed, ACTOR))
    print(f"applied to rule {changed.id} (audited as rule.edit by {ACTOR})")
    return 0


async def _known_rule(store, rule_id: str) -> RuleDef:

    rule = await get_rule(store, rule_id)
    if rule is None:
        known = ", ".join(r.id for r in await load_rule_defs(store)) or "none"
        raise UsageError(f"no rule with id {rule_id!r} in the live set (known: {known})")
    return rule


def suggest_rule(args, settings) -> int:
    """Print suggestions for one rule; with --apply N, apply the Nth (audited)."""

    async def go() -> int:
        async with open_store(settings.db_path) as store:
            rule = await _known_rule(store, args.rule)
            with progress_bar("indexing word forms") as update:  # only posts ingest did not index
                await refresh_lemma_index(store, progress=update)
            plan = await build_plan(store, rule, args.limit)
            print("\n".join(plan_lines(plan)))
            return await _apply(store, plan, args) if args.apply else 0

    return asyncio.run(go())


def mark_feedback(args, settings) -> int:
    """Mark a stored post relevant or not for a rule, as the alert buttons do."""

    async def go() -> int:
        async with open_store(settings.db_path) as store:
            rule = await _known_rule(store, args.rule)
            post = await rf.find_post(store, args.post)
            if post is None:
                raise UsageError(f"no stored post {args.post!r}: give its id, CHANNEL/MESSAGE_ID or t.me link")
            relevant = args.verdict == "relevant"
            await rf.mark_post(store, post.id, rule.id, relevant, utc_now())
        print(f"{post.ref} marked {'relevant' if relevant else 'not relevant'} for rule {rule.id}")
        return 0

    return asyncio.run(go())


def register(rules_sub, subparsers) -> None:
    """`rules suggest` under `rules`, `feedback` at the top level."""
    suggest = rules_sub.add_parser(
        "suggest", help="vetoes and missing words for a rule, learnt from relevant / not relevant marks",
        description="Propose vetoes and missing alternatives for RULE from feedback, with the stored "
                    "hits each would add or remove. Example: dozor rules suggest mobilization --apply 1 --yes")
    suggest.add_argument("rule")
    suggest.add_argument("--apply", type=int, metavar="N", help="apply suggestion N (asks, or --yes)")
    suggest.add_argument("--yes", action="store_true", help="apply without asking")
    suggest.add_argument("--limit", type=int, default=8, help="suggestions of each kind (default 8)")
    suggest.set_defaults(handler=suggest_rule)
    feedback = subparsers.add_parser(
        "feedback", help="mark a stored post relevant or not for a rule (as the alert buttons do)",
        description="Example: dozor feedback pskovgubernia/5012 not mobilization")
    feedback.add_argument("post", metavar="POST", help="stored post id, CHANNEL/MESSAGE_ID, or its t.me link")
    feedback.add_argument("verdict", choices=("relevant", "not"))
    feedback.add_argument("rule", metavar="RULE")
    feedback.set_defaults(handler=mark_feedback)
