"""Rule files: validation with positions, and a lossless export."""
import pytest

from bot.models import RuleDef
from bot.rules import RuleSyntaxError, load_rule_file, parse_rules_toml, rules_to_toml

GOOD = '''
[[rule]]
id = "mob"
title = "Call-ups"
query = 'повестка OR военкомат'
exclude = '"повестка дня"'
tags = ["mobilization"]
channels = ["@PskovGubernia", "-noisy"]
langs = ["ru"]
severity = "low"
enabled = false
'''


def test_parse_reads_every_field():
    [rule] = parse_rules_toml(GOOD)
    assert rule == RuleDef(id="mob", query="повестка OR военкомат", title="Call-ups",
                           exclude='"повестка дня"', tags=("mobilization",),
                           channels_include=("pskovgubernia",), channels_exclude=("noisy",),
                           langs=("ru",), severity="low", enabled=False)


def test_export_reads_back_to_the_same_rules():
    defs = parse_rules_toml(GOOD) + [RuleDef("x", "a 'quoted' \"b\"\nc", title="it's")]
    assert parse_rules_toml(rules_to_toml(defs)) == defs


def test_toml_syntax_error_has_line_and_column():
    with pytest.raises(RuleSyntaxError) as info:
        parse_rules_toml('[[rule]]\nid = "a"\nquery = "unclosed\n')
    assert info.value.line == 3 and "TOML syntax" in info.value.reason


@pytest.mark.parametrize("body,reason", [
    ('id = "a"\nquery = "x"\ncolour = "red"', "unknown key"),
    ('id = "a"', "query is required"),
    ('id = "a"\nquery = "x"\nseverity = "loud"', "severity"),
    ('id = "a"\nquery = "x"\nlangs = ["de"]', "langs"),
    ('id = "a"\nquery = "x"\nenabled = "yes"', "enabled"),
])
def test_invalid_fields_are_named(body, reason):
    with pytest.raises(RuleSyntaxError) as info:
        parse_rules_toml("[[rule]]\n" + body)
    assert reason in info.value.reason


def test_duplicate_ids_name_the_second_rule_line():
    text = '[[rule]]\nid = "a"\nquery = "x"\n\n[[rule]]\nid = "a"\nquery = "y"\n'
    with pytest.raises(RuleSyntaxError) as info:
        parse_rules_toml(text)
    assert info.value.rule_id == "a" and info.value.line == 5


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(RuleSyntaxError):
        load_rule_file(tmp_path / "none.toml")


@pytest.mark.parametrize("text", ['rule = ["x"]', "rule = [1]", 'rule = [["a"]]', 'rule = "x"'])
def test_a_rule_item_that_is_not_a_table_is_a_clear_error(text):
    with pytest.raises(RuleSyntaxError) as info:
        parse_rules_toml(text)
    assert "table" in info.value.reason


def test_a_string_among_rule_tables_names_its_position():
    with pytest.raises(RuleSyntaxError) as info:
        parse_rules_toml('rule = [{id = "a", query = "x"}, "oops"]')
    assert "rule number 2" in info.value.reason and "'oops'" in info.value.reason
