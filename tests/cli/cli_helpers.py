"""What the CLI tests against a real database share: a rule file and a stored match."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from bot.pipeline import Pipeline
from bot.rules import compile_rules
from bot.rules.rulefile import parse_rules_toml
from bot.storage import open_store
from tests.factories import make_post

RULES = """# Dozor rules: header comment

# Mobilization: calls and summons
[[rule]]
id = "mobilization"
query = "мобилизация OR повестка"
tags = ["army"]

[[rule]]
id = "refusals"
query = "отказ*"
"""


def stored_match(day: str, message_id: int):
    """A matched post stored through the real pipeline (no subscriber yet: nothing queued)."""

    async def go():
        async with open_store("dozor.db") as store:
            rules = compile_rules(parse_rules_toml(RULES, "rules.toml"))
            post = make_post(message_id=message_id, text="Объявлена мобилизация",
                             date=datetime.fromisoformat(day).replace(tzinfo=timezone.utc))
            await Pipeline(store, rules).on_post(post)

    asyncio.run(go())


def store_posts(*posts) -> None:
    """Posts stored through the real pipeline with RULES (no subscriber: nothing queued)."""

    async def go():
        async with open_store("dozor.db") as store:
            pipeline = Pipeline(store, compile_rules(parse_rules_toml(RULES, "rules.toml")))
            for post in posts:
                await pipeline.on_post(post)

    asyncio.run(go())


def utc(text: str) -> datetime:
    """An aware UTC datetime from ISO text without a zone ("2024-05-13T08:50")."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
