"""CLI: `dozor match`, `dozor rules check|test|explain` (and `rules suggest`, `feedback`: bot/cli/suggest.py).

Handlers take (args, settings) and return an exit code; user errors print one
message on stderr and return 2.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from contextlib import nullcontext
from pathlib import Path

from bot.cli import suggest
from bot.rules.errors import RuleSyntaxError
from bot.rules.rulefile import load_rule_file, locate_in_file
from bot.rules.ruleset import RuleSet, compile_rules

log = logging.getLogger(__name__)


def _rules_path(args, settings, own_file: bool = False) -> Path:
    path = getattr(args, "rules", None) or (getattr(args, "file", None) if own_file else None)
    return Path(path) if path else Path(settings.rules)


def _load(args, settings, own_file: bool = False) -> RuleSet:
    path = _rules_path(args, settings, own_file)
    defs = load_rule_file(path)
    try:
        return compile_rules(defs)
    except RuleSyntaxError as exc:  # point at the file, not just inside the query
        raise locate_in_file(path.read_text(encoding="utf-8"), str(path), exc) from None


def _user_error(exc: Exception) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 2


def check_rules(args, settings) -> int:
    """Validate a rule file and print each rule's id and a summary."""
    try:
        ruleset = _load(args, settings, own_file=True)
    except RuleSyntaxError as exc:
        return _user_error(exc)
    for d in ruleset.defs:
        flags = [d.severity] + ([] if d.enabled else ["disabled"])
        if d.langs:
            flags.append("langs=" + ",".join(d.langs))
        tags = ",".join(d.tags) or "-"
        print(f"{d.id}\t[{' '.join(flags)}]\ttags={tags}\t{d.title}")
    enabled = sum(d.enabled for d in ruleset.defs)
    print(f"ok: {len(ruleset.defs)} rules ({enabled} enabled) in {_rules_path(args, settings, True)}")
    return 0


def try_text(args, settings) -> int:
    """Print the rules a text matches, with the words that made them match."""
    try:
        ruleset = _load(args, settings)
    except RuleSyntaxError as exc:
        return _user_error(exc)
    matches = ruleset.match_text(args.text)
    for m in matches:
        words = ", ".join(repr(args.text[a:b]) for a, b in m.spans)
        print(f"{m.rule_id}\t{','.join(m.tags) or '-'}\t{m.severity}\t{words}")
    if not matches:
        print("no rule matches")
    return 0


def explain_text(args, settings) -> int:
    """Show why one rule matches a text or not."""
    try:
        print(_load(args, settings).explain(args.rule, args.text))
    except RuleSyntaxError as exc:
        return _user_error(exc)
    return 0


def _post_line(ruleset: RuleSet, line: str, number: int) -> dict:
    try:
        post = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RuleSyntaxError(f"line {number} is not JSON: {exc.msg}", line=number, where="input") from None
    if not isinstance(post, dict) or not isinstance(post.get("text"), str):
        raise RuleSyntaxError(f"line {number} has no \"text\" string", line=number, where="input")
    channel_id = post.get("channel_id")
    matches = ruleset.match_text(post["text"], channel=post.get("channel"),
                                 channel_id=channel_id if isinstance(channel_id, int) else None)
    return {"id": post.get("id", number),
            "matches": [{"rule": m.rule_id, "tags": list(m.tags),
                         "spans": [list(s) for s in m.spans]} for m in matches]}


def match_posts(args, settings) -> int:
    """Read posts as JSONL, write one JSONL line of matches per post, in order."""
    try:
        ruleset = _load(args, settings)
        source = args.file or "-"
        stream = sys.stdin if source == "-" else open(source, encoding="utf-8")
    except RuleSyntaxError as exc:
        return _user_error(exc)
    except OSError as exc:
        return _user_error(f"cannot read {args.file}: {exc.strerror or exc}")
    try:
        with stream if source != "-" else nullcontext(stream):
            for number, line in enumerate(stream, start=1):
                if line.strip():
                    print(json.dumps(_post_line(ruleset, line, number), ensure_ascii=False))
    except RuleSyntaxError as exc:
        return _user_error(exc)
    return 0


def register(subparsers) -> argparse._SubParsersAction:
    """Add `match` and `rules` to the top-level subparsers; return rules' subparsers."""
    match = subparsers.add_parser("match", help="match posts (JSONL) against the rules")
    match.add_argument("file", nargs="?", default="-", help="JSONL posts, or - for stdin")
    match.add_argument("--rules", help="rule file (default: DOZOR_RULES)")
    match.set_defaults(handler=match_posts)

    rules = subparsers.add_parser("rules", help="check, test and explain rules")
    rules.set_defaults(handler=lambda args, settings: (rules.print_help(), 2)[1])
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
    suggest.register(sub, subparsers)
    return sub
