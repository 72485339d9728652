"""Live rule loading: the rules table is the live set; the rule file only seeds a new database's table.

`load_live_rules` (at the start of `dozor run`, replay or live, and of the CLI
commands that read rules) validates the rule file (bot/rules/validate.py: a
broken rule stops the run before it reaches the database), seeds the table if
no rule was ever written to it (a table an operator emptied with `rules import
--replace --allow-empty` stays empty), and compiles what the table holds. The rule file is DOZOR_RULES when
that file exists, else the default rules packaged with Dozor
(bot/rules/default_rules.toml, a copy of config/rules.toml), so Dozor run from
any folder has rules; the log names the file that seeded the table.
`require_enabled_rules` stops a replay or a live run that would match nothing.
`rules_reloader` is the bot commands' `on_rules_changed`: it recompiles the
table into the running pipeline; a set that does not compile keeps the old one.
"""
from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Awaitable, Callable

from bot.errors import UsageError
from bot.pipeline import Pipeline
from bot.rules import RuleSet, load_rule_set, validate_rule_set
from bot.rules.nodes import REGEX_POST_BUDGET
from bot.settings import Settings
from bot.storage.db import Store
from bot.storage.rules import load_rule_defs, seed_rules_if_empty

log = logging.getLogger(__name__)


def packaged_rules_path() -> Path:
    """The default rules shipped inside the package (identical to config/rules.toml)."""
    return Path(str(resources.files("bot.rules").joinpath("default_rules.toml")))


def seed_file(settings: Settings) -> Path:
    """The file that seeds an empty rules table: DOZOR_RULES if it exists, else the packaged defaults."""
    configured = Path(settings.rules)
    return configured if configured.is_file() else packaged_rules_path()


async def load_live_rules(store: Store, settings: Settings) -> RuleSet:
    """Seed the rules table from the rule file if empty, then compile what the table holds."""
    source = seed_file(settings)
    defs = load_rule_set(source).defs  # RuleSyntaxError stops here, before the database
    added = await seed_rules_if_empty(store, defs)
    if added and source != Path(settings.rules):
        log.warning("rule file %s not found; seeded %d rules from the default rules packaged with Dozor (%s)",
                    settings.rules, added, source)
    elif added:
        log.info("seeded %d rules from %s", added, source)
    return validate_rule_set(await load_rule_defs(store), regex_budget=settings.regex_budget)


NO_RULES_HINT = ("add rules with `dozor rules import FILE` (Dozor's default rules: {packaged}) "
                 "or enable one with the bot's /rule on ID")


def require_enabled_rules(ruleset: RuleSet, what: str) -> None:
    """UsageError (exit 2, one line) when no rule is enabled: `what` would read posts and match nothing."""
    if not any(d.enabled for d in ruleset.defs):
        count = len(ruleset.defs)
        state = f"all {count} rules are disabled" if count else "there are no rules"
        raise UsageError(f"not starting {what}: {state}; " + NO_RULES_HINT.format(packaged=packaged_rules_path()))


def rules_reloader(store: Store, pipeline: Pipeline,
                   regex_budget: float | None = REGEX_POST_BUDGET) -> Callable[[], Awaitable[None]]:
    """The commands' on_rules_changed: recompile the rules table (with DOZOR_REGEX_BUDGET) into the pipeline;
    a failure keeps the old set."""

    async def reload_rules() -> None:
        try:
            rules = validate_rule_set(await load_rule_defs(store), regex_budget=regex_budget)
        except Exception:
            log.exception("the changed rules did not compile; the previous rule set stays live")
            return
        pipeline.set_rules(rules)
        log.info("rules reloaded from the database")

    return reload_rules
