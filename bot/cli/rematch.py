"""`dozor rematch [--from DAY] [--to DAY] [--alert]`: match stored posts again after the rules changed.

Reads the live rule set (seeded from the rule file the first time, like
`dozor run`) and bot/history/rematch.py records the matches stored posts gain;
it prints how many posts each rule newly matched. Without --alert nothing is
sent; with it the new matches are queued in the outbox like live ones (marked
late, never a second alert for a post a chat already got), and a running or
the next `dozor run` sends them. Days are calendar days in DOZOR_TZ, both
inclusive; without them every stored post is read.
"""
from __future__ import annotations

import asyncio

from bot.app.rules import load_live_rules, require_enabled_rules
from bot.cli.dates import add_window_options, window_from_args
from bot.clock import utc_now
from bot.formatting import format_time, plural
from bot.history.rematch import RematchResult, rematch_posts
from bot.storage import open_store


def register(subparsers) -> None:
    rematch = subparsers.add_parser(
        "rematch", help="match stored posts again against the live rules (after rules changed)",
        description="Match stored posts again against the live rule set and record the matches they gain "
                    "(a rule added, enabled or changed after the posts were read). Prints what each rule "
                    "found; with --alert also queues those alerts (marked late) for the subscribers.",
        epilog="Example: dozor rules import new.toml && dozor rematch --from 2024-05-13 --to yesterday",
    )
    add_window_options(rematch)
    rematch.add_argument("--alert", action="store_true",
                         help="queue alerts for the new matches (late-marked; none a chat already got)")
    rematch.set_defaults(handler=handle_rematch)


def handle_rematch(args, settings) -> int:
    async def go() -> int:
        now = utc_now()
        days = window_from_args(args, settings.tz, now)
        since, until = (days.start, days.end) if days else (None, None)
        async with open_store(settings.db_path) as store:
            rules = await load_live_rules(store, settings)
            require_enabled_rules(rules, "the rematch")
            result = await rematch_posts(store, rules, now, since, until, alert=args.alert)
        print("\n".join(result_lines(result, args.alert, settings.tz)))
        return 0

    return asyncio.run(go())


def result_lines(result: RematchResult, alert: bool, tz: str) -> list[str]:
    if not result.posts:
        return ["no stored posts in that window: nothing to match"]
    span = f"{format_time(result.first, tz)} to {format_time(result.last, tz)}"
    lines = [f"{plural(result.posts, 'stored post')} ({span}) matched again: "
             f"{result.matched_posts} gained matches"]
    lines += [f"  {rule_id}: {plural(count, 'post')} newly matched" for rule_id, count in sorted(result.by_rule.items())]
    if alert:
        lines.append(f"{plural(result.alerts, 'alert')} queued (marked late); `dozor run` sends them")
    elif result.matched_posts:
        lines.append("matches recorded, nothing sent; add --alert to queue alerts for them")
    return lines
