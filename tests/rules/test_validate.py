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


@pytest.mark.parametrize("query", ["NOT повестка", "-повестка", "повестка OR NOT военкомат",
                                   "(NOT a) AND (NOT b)", "a OR (b OR -c)"])
def test_a_query_that_can_match_without_any_of_its_words_is_refused(query):
    with pytest.raises(RuleSyntaxError, match=r"rule 'bad'.*none of its words.*every post"):
        validate_rule_set([RuleDef(id="bad", query=query)])


@pytest.mark.parametrize("query", ["повестка NOT военкомат", "a OR (b NOT c)", "(NOT a) NEAR/3 b",
                                   "a AND (b OR NOT c)"])
def test_a_query_that_needs_one_of_its_words_is_accepted(query):
    assert validate_rule_set([RuleDef(id="ok", query=query)]).by_id["ok"]


def test_a_query_true_through_not_alone_is_refused_in_a_file_at_its_line(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\nid = "a"\nquery = "повестка"\n\n[[rule]]\nid = "b"\nquery = "NOT x"\n',
                    encoding="utf-8")
    with pytest.raises(RuleSyntaxError, match=r"rule 'b', .*rules.toml line 7, column 10: query: this query can"):
        load_rule_set(path)


@pytest.mark.parametrize("query, reason, column", [
    ("повестка near/3 военкомат", "operators are written in capitals: NEAR/3", 10),
    ("повестка onear/2 военкомат", "operators are written in capitals: ONEAR/2", 10),
    ("повестка NAER/3 военкомат", "NAER/3 is not an operator; did you mean NEAR/3?", 10),
    ("повестка\n  Near/5 военкомат", "operators are written in capitals: NEAR/5", 3),
])
def test_a_lower_case_or_misspelt_near_is_an_error_saying_how_to_write_it(query, reason, column):
    with pytest.raises(RuleSyntaxError) as info:
        validate_rule_set([RuleDef(id="r", query=query)])
    assert info.value.reason == reason and info.value.column == column
    assert "never closed" not in str(info.value)


@pytest.mark.parametrize("query, expected", [
    ("повестка ANDD военкомат", "ANDD is searched as a word; did you mean the operator AND?"),
    ("повестка NEAR3 военкомат", "NEAR3 is searched as a word; did you mean NEAR/3?"),
    ("повестка or военкомат", "'or' is searched as a word; operators are written in capitals: OR"),
    ("повестка and (военкомат)", "operators are written in capitals: AND"),
    ("повестка NTO военкомат", "did you mean the operator NOT?"),
])
def test_a_near_miss_of_an_operator_is_a_warning_naming_the_operator(query, expected):
    from bot.rules import rule_warnings
    ruleset = validate_rule_set([RuleDef(id="r", query=query)])  # it still parses
    warnings = rule_warnings(ruleset.defs)
    assert len(warnings) == 1 and expected in warnings[0] and "rule 'r'" in warnings[0]


@pytest.mark.parametrize("query", ["(fail OR not OR never) NEAR/3 leave", "=not", "NATO OR UK", '"and so on"'])
def test_words_that_only_look_like_operators_give_no_warning(query):
    from bot.rules import rule_warnings
    assert rule_warnings([RuleDef(id="r", query=query)]) == []
