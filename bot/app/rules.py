"""Live rule loading: the rules table is the live set; the rule file only seeds an empty table.

`load_live_rules` (at the start of `dozor run`, replay or live) validates the
rule file (bot/rules/validate.py: a broken rule stops the run before it reaches
the database), seeds the table if empty, and compiles what the table holds.
`rules_reloader` is the bot commands' `on_rules_changed`: it recompiles the
table into the running pipeline; a set that does not compile keeps the old one.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Awaitable, Callable

from bot.pipeline import Pipeline
from bot.rules import RuleSet, load_rule_set, validate_rule_set
from bot.rules.nodes import REGEX_POST_BUDGET
from bot.settings import Settings
from bot.storage.db import Store
from bot.storage.rules import load_rule_defs, seed_rules_if_empty

log = logging.getLogger(__name__)


async def load_live_rules(store: Store, settings: Settings) -> RuleSet:
    """Seed the rules table from the rule file if empty, then compile what the table holds."""
    if Path(settings.rules).is_file():
        defs = load_rule_set(settings.rules).defs  # RuleSyntaxError stops here, before the database
        added = await seed_rules_if_empty(store, defs)
        if added:
            log.info("seeded %d rules from %s", added, settings.rules)
    else:
        log.warning("rule file %s not found; using the rules already in the database", settings.rules)
    return validate_rule_set(await load_rule_defs(store), regex_budget=settings.regex_budget)


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
