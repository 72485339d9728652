"""Explain reports the compiled rule's own verdict: on every sample post and every
default rule it says MATCH exactly when matching matches, with the same spans."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.models import RuleDef
from bot.rules.explain import explain
from bot.rules.rulefile import load_rule_file
from bot.rules.ruleset import compile_rules
from bot.sources import ReadReport, read_posts
from bot.text import analyze

ROOT = Path(__file__).resolve().parents[2]
RULES = compile_rules(load_rule_file(ROOT / "config" / "rules.toml"))
POSTS = list(read_posts(ROOT / "bot" / "sample" / "posts.jsonl", ReadReport(), datetime(2024, 1, 1, tzinfo=timezone.utc)))


@pytest.mark.parametrize("post", POSTS, ids=lambda p: str(p.message_id))
def test_explain_agrees_with_matching_on_every_default_rule(post):
    doc = analyze(post.text)
    matched = {m.rule_id: m for m in RULES.match_doc(doc, post.channel, post.channel_id)}
    for rule in RULES.rules:
        account = explain(rule, analyze(post.text))
        shown = account.match if rule.allows(post.channel, post.channel_id, doc.lang) else None
        assert shown == matched.get(rule.defn.id), (rule.defn.id, account.text)
        assert account.text.endswith("NO MATCH") == (account.match is None)
        assert account.match == (rule.evaluate(doc) if rule.defn.enabled else None)


def test_the_sample_posts_match_some_default_rules():
    hits = sum(bool(RULES.match(post)) for post in POSTS)
    assert 0 < hits < len(POSTS)


def test_the_tree_marks_each_node_with_what_evaluation_found():
    rule = compile_rules(load_rule_file(ROOT / "config" / "rules.toml")).by_id["mobilization"]
    doc = analyze("В Пскове раздают повестки у метро, военкомат объявил мобилизацию")
    match, trace = rule.evaluate_traced(doc)
    assert match == rule.evaluate(doc) and match is not None
    top = explain(rule, doc).text.splitlines()[3]
    assert top.strip().startswith("TRUE") and (trace.query[0].hits is not None)


def test_and_shows_the_parts_it_did_not_check():
    rules = compile_rules([RuleDef("r", "повестка AND военкомат")])
    text = explain(rules.by_id["r"], analyze("в военкомате тихо")).text
    assert "false повестка" in text and "----- военкомат (not checked: an earlier part is false)" in text
    assert text.endswith("NO MATCH")
