"""CLI: `dozor match`, `dozor rules check|test|explain|import|export` (`rules suggest`, `feedback`: bot/cli/suggest.py).

`match`, `rules test` and `rules explain` use the live rule set in the
database, as `dozor run` does (seeded from the rule file the first time:
bot/app/rules.py); `--rules FILE` tests that file instead and says so (on
stderr for `match`, whose stdout is JSONL). Every rule set read here is
validated by bot/rules/validate.py, errors pointing at the file's line and column. Handlers take (args, settings) and return an
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
from dataclasses import dataclass
from pathlib import Path

from bot.app.rules import load_live_rules, seed_file
from bot.clock import utc_now
from bot.errors import SourceError, UsageError
from bot.formatting import plural
from bot.models import Post
from bot.rules import (RuleSet, RuleSyntaxError, load_rule_set, parse_rules_toml, rule_warnings, rules_to_toml,
                       validate_change)
from bot.rules.rulefile import read_rule_file
from bot.sources import ReadReport, read_posts, read_stream
from bot.storage import open_store
from bot.storage.rules import delete_rule, load_rule_defs, upsert_rule

log = logging.getLogger(__name__)
ACTOR = "cli"


def _check_path(args, settings) -> Path:
    """The file `rules check` validates: FILE, else the one that seeds the rules table."""
    path = getattr(args, "rules", None) or getattr(args, "file", None)
    return Path(path) if path else seed_file(settings)


def _rules_for(args, settings, note_to=None) -> RuleSet:
    """The live rule set from the database, or with --rules that file (saying so on `note_to`)."""
    if getattr(args, "rules", None):
        print(f"testing the rule file {args.rules}, not the live rules (drop --rules for those)",
              file=note_to or sys.stdout)
        return load_rule_set(Path(args.rules))

    async def live() -> RuleSet:
        async with open_store(settings.db_path) as store:
            return await load_live_rules(store, settings)

    return asyncio.run(live())


def check_rules(args, settings) -> int:
    """Validate a rule file and print each rule's id and a summary."""
    path = _check_path(args, settings)
    ruleset = load_rule_set(path)
    _print_warnings(ruleset.defs, path)
    for d in ruleset.defs:
        flags = [d.severity] + ([] if d.enabled else ["disabled"])
        if d.langs:
            flags.append("langs=" + ",".join(d.langs))
        tags = ",".join(d.tags) or "-"
        print(f"{d.id}\t[{' '.join(flags)}]\ttags={tags}\t{d.title}")
    enabled = sum(d.enabled for d in ruleset.defs)
    print(f"ok: {plural(len(ruleset.defs), 'rule')} ({enabled} enabled) in {path}")
    return 0


def _print_warnings(defs, path: Path) -> None:
    """Slips that still parse (`or` as a word, ANDD, NEAR3), on stderr, pointing into the file."""
    text = path.read_text(encoding="utf-8") if path.is_file() else None
    for warning in rule_warnings(defs, text=text, source=str(path)):
        print(warning, file=sys.stderr)


def try_text(args, settings) -> int:
    """Print the rules a text matches, with the words that made them match."""
    ruleset = _rules_for(args, settings)
    matches = ruleset.match_text(args.text)
    for m in matches:
        words = ", ".join(repr(args.text[a:b]) for a, b in m.spans)
        print(f"{m.rule_id}\t{','.join(m.tags) or '-'}\t{m.severity}\t{words}")
    if not matches:
        print("no rule matches")
    return 0


def explain_text(args, settings) -> int:
    """Show why one rule matches a text or not."""
    print(_rules_for(args, settings).explain(args.rule, args.text))
    return 0


def _match_line(ruleset: RuleSet, post: Post) -> dict:
    matches = ruleset.match_text(post.text, channel=post.channel, channel_id=post.channel_id)
    return {"id": post.message_id, "channel": post.channel or post.channel_title,
            "matches": [{"rule": m.rule_id, "tags": list(m.tags),
                         "spans": [list(s) for s in m.spans]} for m in matches]}


STDIN_WAIT = ("dozor match: waiting for posts on stdin, one JSON object a line "
              '({"text": "…"}); end with Ctrl-D, or give a FILE (JSONL, .gz or result.json)')


def match_posts(args, settings) -> int:
    """Read posts (the replay reader: JSONL, .gz, result.json, stdin); write one JSONL line of matches
    per post, in order. Bad input lines are skipped with a warning, then reported: exit 2."""
    ruleset = _rules_for(args, settings, note_to=sys.stderr)
    source, report, now = args.file or "-", ReadReport(), utc_now()
    if source == "-":
        if sys.stdin.isatty():
            print(STDIN_WAIT, file=sys.stderr)
        posts = read_stream(sys.stdin.buffer, report, now)
    else:
        posts = read_posts(source, report, now)
    for post in posts:
        line = _match_line(ruleset, post)
        if line["matches"] or not getattr(args, "only_matches", False):
            print(json.dumps(line, ensure_ascii=False))
    if report.skipped:
        number, reason = report.skipped[0]
        count = len(report.skipped)
        name = "stdin" if source == "-" else Path(source).name
        raise SourceError(f"{name}: {count} of {report.lines} line{'s' if report.lines != 1 else ''} skipped "
                          f"(first: line {number}: {reason}); the other posts were matched")
    return 0


def import_rules(args, settings) -> int:
    """Validate a TOML rule file and write its rules into the database (audited).

    --replace also deletes the live rules the file lacks: it shows the diff and asks (y/N on a
    terminal, else it needs --yes), and refuses to leave no rule at all unless --allow-empty."""
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
            diff = RuleDiff.of(current, defs, args.replace)
            if args.replace:
                _confirm_replace(args, path, diff, len(current))

            async def write(conn) -> None:
                for rule in defs:
                    if current.get(rule.id) != rule:
                        await upsert_rule(conn, rule, ACTOR)
                for rule_id in diff.removed:
                    await delete_rule(conn, rule_id, ACTOR)

            await store.write(write)
        print(f"{plural(len(defs), 'rule')} read from {path}, {len(diff.added) + len(diff.changed)} added or changed"
              + (f", {len(diff.removed)} removed" if args.replace else ""))
        return 0

    return asyncio.run(go())


@dataclass(frozen=True)
class RuleDiff:
    """Rule ids an import adds, changes and (with --replace) removes."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]

    @classmethod
    def of(cls, current: dict, defs, replace: bool) -> RuleDiff:
        ids = {d.id for d in defs}
        return cls(tuple(d.id for d in defs if d.id not in current),
                   tuple(d.id for d in defs if d.id in current and current[d.id] != d),
                   tuple(sorted(set(current) - ids)) if replace else ())

    def lines(self) -> list[str]:
        return [f"{label} ({len(ids)}): {', '.join(ids)}" for label, ids in
                (("added", self.added), ("changed", self.changed), ("removed", self.removed)) if ids]


def _confirm_replace(args, path: Path, diff: RuleDiff, live: int) -> None:
    """UsageError unless this --replace may go ahead: never to zero rules without --allow-empty,
    and only after y on a terminal or --yes."""
    if live - len(diff.removed) + len(diff.added) == 0 and not args.allow_empty:
        raise UsageError(f"{path} has no rules: --replace would delete all {live} live rules; "
                         f"add --allow-empty if you mean that")
    if not (diff.added or diff.changed or diff.removed):
        return
    print(f"rules import --replace {path}:")
    print("\n".join("  " + line for line in diff.lines()))
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("nothing imported: --replace changes the live rules as listed above; "
                         "add --yes to confirm (stdin is not a terminal)")
    if input("replace the live rules? [y/N] ").strip().lower() not in ("y", "yes"):
        raise UsageError("nothing imported")


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
    match = subparsers.add_parser("match", help="match posts (JSONL, .gz or result.json) against the live rules")
    match.add_argument("file", nargs="?", default="-",
                       help="posts: JSONL, gzipped JSONL or a Telegram Desktop result.json; - (default) for stdin")
    match.add_argument("--rules", metavar="FILE", help="test this rule file instead of the live rules")
    match.add_argument("--only-matches", action="store_true", help="print only the posts some rule matches")
    match.set_defaults(handler=match_posts)

    rules = subparsers.add_parser("rules", help="check, test and explain rules")
    rules.set_defaults(handler=None, help_of=rules)
    sub = rules.add_subparsers(dest="rules_command")
    check = sub.add_parser("check", help="validate a rule file")
    check.add_argument("file", nargs="?", help="rule file (default: DOZOR_RULES, else the packaged default rules)")
    check.add_argument("--rules", help=argparse.SUPPRESS)
    check.set_defaults(handler=check_rules)
    test = sub.add_parser("test", help="which live rules match a text")
    test.add_argument("text")
    test.add_argument("--rules", metavar="FILE", help="test this rule file instead of the live rules")
    test.set_defaults(handler=try_text)
    explain = sub.add_parser("explain", help="why a live rule matches a text or not")
    explain.add_argument("rule")
    explain.add_argument("text")
    explain.add_argument("--rules", metavar="FILE", help="explain a rule of this file instead of the live rules")
    explain.set_defaults(handler=explain_text)
    imp = sub.add_parser("import", help="validate a TOML rule file and load it into the database")
    imp.add_argument("file")
    imp.add_argument("--replace", action="store_true",
                     help="also delete rules the file does not have (shows the diff and asks first)")
    imp.add_argument("--yes", action="store_true", help="with --replace: do it without asking")
    imp.add_argument("--allow-empty", action="store_true",
                     help="with --replace: allow a file that leaves no rule at all")
    imp.set_defaults(handler=import_rules)
    exp = sub.add_parser("export", help="write the live rules as TOML (stdout or FILE)")
    exp.add_argument("file", nargs="?")
    exp.set_defaults(handler=export_rules)
    return sub
