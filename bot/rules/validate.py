"""The one rule-validation entry point: every rule set that is loaded or changed passes here first.

    ruleset = validate_rule_set(defs)                      # RuleSyntaxError: nothing is written
    ruleset = validate_rule_set(defs, text=toml, source=path)  # the error points into the file
    ruleset = validate_change(live_defs, [edited_rule])    # the live set with the change put in

The whole set is compiled (every rule or none), so an id used twice, a query
that does not parse, or a query that can be true with none of its words in the
post (`NOT x`, `a OR NOT b`: it would alert on nearly every post) stops the
change. `rule_warnings` lists what parses but is probably a slip (`or` written
as a word, `ANDD`, `NEAR3`); callers print them and go on. The error names the rule, and the line
and column: of the rule file when its text is given, else of the query.
Callers: `dozor rules import` and `check|test|explain|suggest`, `dozor match`,
the bot's /rule commands, and the live rule loading (bot/app/rules.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from bot.models import RuleDef
from bot.rules.errors import RuleSyntaxError
from bot.rules.rulefile import locate_in_file, read_rule_file
from bot.rules.nodes import REGEX_POST_BUDGET, And, Near, Not, Or
from bot.rules.query import query_warnings
from bot.rules.ruleset import RuleSet, compile_rules

NO_POSITIVE_TERM = ("this query can match a post that has none of its words (it is true through NOT "
                    "alone, e.g. `NOT x` or `a OR NOT b`), so it would alert on nearly every post; "
                    "give every alternative a word it must find, e.g. `a OR (b NOT c)`")


def validate_rule_set(defs: Iterable[RuleDef], *, text: str | None = None, source: str = "rules.toml",
                      regex_budget: float | None = REGEX_POST_BUDGET) -> RuleSet:
    """Compile the whole set; RuleSyntaxError (pointing into `text` when given) if any rule is wrong.

    `regex_budget`: seconds all /regex/ terms may spend on one post together (DOZOR_REGEX_BUDGET)."""
    try:
        ruleset = compile_rules(defs, regex_budget)
        for rule in ruleset.rules:
            if not needs_a_term(rule.node):
                raise RuleSyntaxError(NO_POSITIVE_TERM, rule_id=rule.defn.id, text=rule.defn.query)
        return ruleset
    except RuleSyntaxError as exc:
        if text is None:
            raise
        raise locate_in_file(text, source, exc) from None


def needs_a_term(node) -> bool:
    """True when the query can only be true with at least one of its words (terms) in the post."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(needs_a_term(child) for child in node.children)
    if isinstance(node, Or):
        return all(needs_a_term(child) for child in node.children)
    if isinstance(node, Near):
        return True  # both sides must have hits, and NOT gives none
    return True  # a word, phrase, prefix, hashtag or /regex/


def rule_warnings(defs: Iterable[RuleDef], *, text: str | None = None, source: str = "rules.toml") -> list[str]:
    """Slips that still parse, one message each, pointing into the file when `text` is given."""
    out = []
    for rule in defs:
        for where, query in (("query", rule.query), ("exclude", rule.exclude)):
            if not query:
                continue
            for found in query_warnings(query):
                found = found.with_rule(rule.id, where)
                out.append("warning: " + str(found if text is None else locate_in_file(text, source, found)))
    return out


def validate_change(current: Iterable[RuleDef], changed: Iterable[RuleDef], *, replace: bool = False,
                    text: str | None = None, source: str = "rules.toml") -> RuleSet:
    """The set `current` would become with `changed` written over it (and, with `replace`, nothing else)."""
    changed = list(changed)
    ids = {rule.id for rule in changed}
    kept = [] if replace else [rule for rule in current if rule.id not in ids]
    return validate_rule_set(kept + changed, text=text, source=source)


def load_rule_set(path: str | Path) -> RuleSet:
    """Read, parse and validate a rule file; errors point at the file's line and column."""
    text, defs = read_rule_file(path)
    return validate_rule_set(defs, text=text, source=str(path))
