"""The one rule-validation entry point: every rule set that is loaded or changed passes here first.

    ruleset = validate_rule_set(defs)                      # RuleSyntaxError: nothing is written
    ruleset = validate_rule_set(defs, text=toml, source=path)  # the error points into the file
    ruleset = validate_change(live_defs, [edited_rule])    # the live set with the change put in

The whole set is compiled (every rule or none), so an id used twice or a query
that does not parse stops the change. The error names the rule, and the line
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
from bot.rules.nodes import REGEX_POST_BUDGET
from bot.rules.ruleset import RuleSet, compile_rules


def validate_rule_set(defs: Iterable[RuleDef], *, text: str | None = None, source: str = "rules.toml",
                      regex_budget: float | None = REGEX_POST_BUDGET) -> RuleSet:
    """Compile the whole set; RuleSyntaxError (pointing into `text` when given) if any rule is wrong.

    `regex_budget`: seconds all /regex/ terms may spend on one post together (DOZOR_REGEX_BUDGET)."""
    try:
        return compile_rules(defs, regex_budget)
    except RuleSyntaxError as exc:
        if text is None:
            raise
        raise locate_in_file(text, source, exc) from None


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
