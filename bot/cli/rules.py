"""CLI: `dozor match`, `dozor rules check|test|explain|import|export` (`rules suggest`, `feedback`: bot/cli/suggest.py).

Every rule set read here is validated by bot/rules/validate.py, errors pointing
at the file's line and column. Handlers take (args, settings) and return an
exit code; they raise a DozorError for what the user must fix (RuleSyntaxError,
SourceError for a bad input line, UsageError), which bot/__main__.py prints as
one line and exit code 2. `rules import` writes nothing unless the whole set
compiles; changes are audited with actor "cli".
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import sys
from contextlib import nullcontext
from pathlib import Path

from bot.errors import SourceError, UsageError
from bot.formatting import plural
from bot.rules import (RuleSet, RuleSyntaxError, load_rule_set, parse_rules_toml, rule_warnings, rules_to_toml,
                       validate_change)
from bot.rules.rulefile import read_rule_file
from bot.storage import open_store
from bot.storage.rules import delete_rule, load_rule_defs, upsert_rule

log = logging.getLogger(__name__)
ACTOR = "cli"


def _rules_path(args, settings, own_file: bool = False) -> Path:
    path = getattr(args, "rules", None) or (getattr(args, "file", None) if own_file else None)
    return Path(path) if path else Path(settings.rules)


def _load(args, settings, own_file: bool = False) -> RuleSet:
    return load_rule_set(_rules_path(args, settings, own_file))


def check_rules(args, settings) -> int:
    """Validate a rule file and print each rule's id and a summary."""
    path = _rules_path(args, settings, own_file=True)
    ruleset = load_rule_set(path)
    _print_warnings(ruleset.defs, path)
    for d in ruleset.defs:
        flags = [d.severity] + ([] if d.enabled else ["disabled"])
        if d.langs:
            flags.append("langs=" + ",".join(d.langs))
        tags = ",".join(d.tags) or "-"
        print(f"{d.id}\t[{' '.join(flags)}]\ttags={tags}\t{d.title}")
    enabled = sum(d.enabled for d in ruleset.defs)
    print(f"ok: {plural(len(ruleset.defs), 'rule')} ({enabled} enabled) in {_rules_path(args, settings, True)}")
    return 0


def _print_warnings(defs, path: Path) -> None:
    """Slips that still parse (`or` as a word, ANDD, NEAR3), on stderr, pointing into the file."""
    text = path.read_text(encoding="utf-8") if path.is_file() else None
    for warning in rule_warnings(defs, text=text, source=str(path)):
        print(warning, file=sys.stderr)


def try_text(args, settings) -> int:
    """Print the rules a text matches, with the words that made them match."""
    ruleset = _load(args, settings)
    matches = ruleset.match_text(args.text)
    for m in matches:
        words = ", ".join(repr(args.text[a:b]) for a, b in m.spans)
        print(f"{m.rule_id}\t{','.join(m.tags) or '-'}\t{m.severity}\t{words}")
    if not matches:
        print("no rule matches")
    return 0


def explain_text(args, settings) -> int:
    """Show why one rule matches a text or not."""
    print(_load(args, settings).explain(args.rule, args.text))
    return 0


def _post_line(ruleset: RuleSet, line: str, number: int) -> dict:
    try:
        post = json.loads(line)
    except json.JSONDecodeError as exc:
        raise SourceError(f"input: line {number} is not JSON: {exc.msg}") from None
    if not isinstance(post, dict) or not isinstance(post.get("text"), str):
        raise SourceError(f"input: line {number} has no \"text\" string")
    channel_id = post.get("channel_id")
    matches = ruleset.match_text(post["text"], channel=post.get("channel"),
                                 channel_id=channel_id if isinstance(channel_id, int) else None)
    return {"id": post.get("id", number),
            "matches": [{"rule": m.rule_id, "tags": list(m.tags),
                         "spans": [list(s) for s in m.spans]} for m in matches]}


def match_posts(args, settings) -> int:
    """Read posts as JSONL, write one JSONL line of matches per post, in order."""
    ruleset = _load(args, settings)
    source = args.file or "-"
    try:
        stream = sys.stdin if source == "-" else open(source, encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    with stream if source != "-" else nullcontext(stream):
        for number, line in enumerate(stream, start=1):
            if line.strip():
                print(json.dumps(_post_line(ruleset, line, number), ensure_ascii=False))
    return 0


def import_rules(args, settings) -> int:
    """Validate a TOML rule file and write its rules into the database (audited)."""
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    text, defs = read_rule_file(path)
    _print_warnings(defs, path)

    async def go() -> int:
        async with open_store(settings.db_path) as store:
            current = {r.id: r for r in await load_rule_defs(store)}
            # RuleSyntaxError (pointing into the file) -> nothing written
            validate_change(current.values(), defs, replace=args.replace, text=text, source=str(path))

            async def write(conn) -> None:
                for rule in defs:
                    if current.get(rule.id) != rule:
                        await upsert_rule(conn, rule, ACTOR)
                if args.replace:
                    for rule_id in set(current) - {d.id for d in defs}:
                        await delete_rule(conn, rule_id, ACTOR)

            await store.write(write)
        changed = sum(1 for d in defs if current.get(d.id) != d)
        print(f"{plural(len(defs), 'rule')} read from {path}, {changed} added or changed"
              + (f", {len(set(current) - {d.id for d in defs})} removed" if args.replace else ""))
        return 0

    return asyncio.run(go())


def export_rules(args, settings) -> int:
    """Write the live rule set as TOML (stdout or FILE): each rule's comment, multi-line queries as
    '''…''' blocks, and the old file's header comment; importing it back changes nothing."""
    async def go() -> int:
        async with open_store(settings.db_path) as store:
            defs = await load_rule_defs(store)
        source = Path(args.file) if args.file and Path(args.file).is_file() else Path(settings.rules)
        old = source.read_text(encoding="utf-8") if source.is_file() else ""
        text = carry_comments(old, rules_to_toml(with_old_comments(defs, old)))
        if args.file:
            Path(args.file).write_text(text, encoding="utf-8")
            print(f"{plural(len(defs), 'rule')} written to {args.file}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0

    return asyncio.run(go())


def with_old_comments(defs, old: str) -> list:
    """Rules stored before comments were kept (an empty comment) take their comment from the old file."""
    if not old or all(d.comment for d in defs):
        return list(defs)
    try:
        by_id = {d.id: d.comment for d in parse_rules_toml(old)}
    except RuleSyntaxError:
        return list(defs)
    return [d if d.comment else dataclasses.replace(d, comment=by_id.get(d.id, "")) for d in defs]


def carry_comments(old: str, new: str) -> str:
    """`new` under the old file's header comment (the comment lines before the first blank line)."""
    header = []
    for line in old.splitlines():
        if not line.strip().startswith("#"):
            break
        header.append(line)
    if not header or len(header) == len(old.splitlines()) or old.splitlines()[len(header)].strip():
        return new  # no header, or the comment sits right on the first [[rule]] (it is that rule's)
    return "\n".join(header) + "\n\n" + new


def register(subparsers) -> argparse._SubParsersAction:
    """Add `match` and `rules` to the top-level subparsers; return rules' subparsers (for `rules suggest`)."""
    match = subparsers.add_parser("match", help="match posts (JSONL) against the rules")
    match.add_argument("file", nargs="?", default="-", help="JSONL posts, or - for stdin")
    match.add_argument("--rules", help="rule file (default: DOZOR_RULES)")
    match.set_defaults(handler=match_posts)

    rules = subparsers.add_parser("rules", help="check, test and explain rules")
    rules.set_defaults(handler=None, help_of=rules)
    sub = rules.add_subparsers(dest="rules_command")
    check = sub.add_parser("check", help="validate a rule file")
    check.add_argument("file", nargs="?", help="rule file (default: DOZOR_RULES)")
    check.add_argument("--rules", help=argparse.SUPPRESS)
    check.set_defaults(handler=check_rules)
    test = sub.add_parser("test", help="which rules match a text")
    test.add_argument("text")
    test.add_argument("--rules", help="rule file (default: DOZOR_RULES)")
    test.set_defaults(handler=try_text)
    explain = sub.add_parser("explain", help="why a rule matches a text or not")
    explain.add_argument("rule")
    explain.add_argument("text")
    explain.add_argument("--rules", help="rule file (default: DOZOR_RULES)")
    explain.set_defaults(handler=explain_text)
    imp = sub.add_parser("import", help="validate a TOML rule file and load it into the database")
    imp.add_argument("file")
    imp.add_argument("--replace", action="store_true", help="also delete rules the file does not have")
    imp.set_defaults(handler=import_rules)
    exp = sub.add_parser("export", help="write the live rules as TOML (stdout or FILE)")
    exp.add_argument("file", nargs="?")
    exp.set_defaults(handler=export_rules)
    return sub
