"""The one rule-validation entry point (bot/rules/validate.py)."""
import pytest

from bot.models import RuleDef
from bot.rules import RuleSyntaxError, load_rule_set, validate_change, validate_rule_set

LIVE = [RuleDef(id="mob", query="повестка"), RuleDef(id="ref", query="отказ*")]


def test_a_change_is_validated_with_the_rest_of_the_live_set():
    ruleset = validate_change(LIVE, [RuleDef(id="mob", query="военкомат")])
    assert [(d.id, d.query) for d in ruleset.defs] == [("ref", "отказ*"), ("mob", "военкомат")]


def test_replace_keeps_only_the_changed_rules():
    assert [d.id for d in validate_change(LIVE, [RuleDef(id="new", query="дезертир")], replace=True).defs] == ["new"]


def test_a_bad_query_names_the_rule_and_the_column_of_the_query():
    with pytest.raises(RuleSyntaxError, match=r"rule 'ref', query line 1, column 1"):
        validate_change(LIVE, [RuleDef(id="ref", query="(отказ")])


def test_with_the_file_text_the_error_points_into_the_file(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\nid = "a"\n\nquery = "повестка AND"\n', encoding="utf-8")
    with pytest.raises(RuleSyntaxError, match=r"rule 'a', .*rules.toml line 4, column"):
        load_rule_set(path)


def test_an_id_used_twice_is_refused():
    with pytest.raises(RuleSyntaxError, match="used by another rule"):
        validate_rule_set(LIVE + [RuleDef(id="mob", query="x")])
