"""Helpers for the foundation tests: a post factory and a tiny stand-in for the rule engine.

(`from conftest import make_post` is ambiguous once tests/<dir>/conftest.py
files exist, so the factory lives here under a unique module name.)
"""
from __future__ import annotations

import itertools
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.models import Match, Post

_ids = itertools.count(5000)
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def shared_file(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared is not beside the checkout ({path} missing)")
    return path


SAMPLE = Path(__file__).resolve().parents[1] / "bot" / "sample" / "posts.jsonl"


def repeated_sample(path: Path, copies: int) -> Path:
    """The built-in sample written `copies` times under new message ids (83 posts a copy)."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    with path.open("w", encoding="utf-8") as out:
        for copy in range(copies):
            for line in lines:
                record = json.loads(line)
                record["id"] = record["id"] * 1000 + copy
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def replay_command(replay: Path, alerts: Path) -> list[str]:
    """`dozor run --replay REPLAY --alerts-to ALERTS` as a subprocess argument list."""
    return [sys.executable, "-m", "bot", "run", "--replay", str(replay), "--alerts-to", str(alerts)]


def make_post(**overrides) -> Post:
    fields = dict(
        channel_id=-1001000000001, message_id=next(_ids), text="Обычная новость о погоде в Пскове.",
        date=datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc), channel="pskovgubernia",
        channel_title="Псковская губерния",
    )
    fields.update(overrides)
    if "link" not in overrides and fields.get("channel"):
        fields["link"] = f"https://t.me/{fields['channel']}/{fields['message_id']}"
    return Post(**fields)


class WordRules:
    """WordRules(mob=("мобилиз", ("mobilization",), "high"), ...): substring rules with spans."""

    def __init__(self, **rules: tuple[str, tuple[str, ...], str]):
        self.rules = rules

    def match(self, post: Post) -> list[Match]:
        found = []
        lowered = post.text.lower()
        for rule_id, (word, tags, severity) in sorted(self.rules.items()):
            start = lowered.find(word)
            if start >= 0:
                found.append(Match(rule_id, tags, ((start, start + len(word)),), severity))
        return found


def default_rules() -> WordRules:
    return WordRules(
        mobilization=("мобилиз", ("mobilization",), "high"),
        refusals=("отказ", ("refusals",), "high"),
        quiet=("повестк", ("mobilization",), "low"),
    )
