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
`RulesWatcher` polls the rules version (bot/storage/rules.py bumps it on every
change, from any process: the web console, the bot, `dozor rules import`) and
reloads when it moves, so a rule saved elsewhere is live within RULES_POLL seconds.
"""
from __future__ import annotations

import asyncio
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
from bot.storage.rules import load_rule_defs, rules_version, seed_rules_if_empty

log = logging.getLogger(__name__)
RULES_POLL = 2.0  # seconds between looks at the rules version (issue 15: a saved rule is live within 5 s)


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


class RulesWatcher:
    """Reloads the pipeline's rules when the rules version in the database changes."""

    def __init__(self, store: Store, pipeline: Pipeline, regex_budget: float | None = REGEX_POST_BUDGET,
                 every: float = RULES_POLL):
        self.store = store
        self.every = every
        self.reload = rules_reloader(store, pipeline, regex_budget)
        self.version: int | None = None

    async def prime(self) -> None:
        """Remember the version the rules were loaded at."""
        self.version = await rules_version(self.store)

    async def check_once(self) -> bool:
        """Reload if the version moved since the last look; True when it did."""
        version = await rules_version(self.store)
        if self.version is None:
            self.version = version
            return False
        if version == self.version:
            return False
        log.info("rules version %d -> %d: reloading the rules", self.version, version)
        self.version = version
        await self.reload()
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop`; a failed look is logged and the next one tries again."""
        while not stop.is_set():
            try:
                await self.check_once()
            except Exception:
                log.exception("could not read the rules version")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.every)
            except asyncio.TimeoutError:
                pass
