"""/regex/ terms cannot stall matching: a cap per rule, a time budget per post across all rules."""
import logging

import pytest

from bot.models import RuleDef
from bot.rules import RuleSyntaxError, compile_query, compile_rules
from bot.rules.nodes import MAX_RULE_REGEXES

WORST = r"/((.)+)+\1\1\1\1\1\1\1/"
LONG_POST = "мобилизация " * 400 + "повестка"


def test_a_rule_with_more_regex_terms_than_the_cap_is_rejected_naming_the_extra_one():
    query = " OR ".join(f"/r{i}/" for i in range(MAX_RULE_REGEXES + 1))
    with pytest.raises(RuleSyntaxError) as info:
        compile_rules([RuleDef("many", query)])
    error = info.value
    assert error.rule_id == "many" and f"at most {MAX_RULE_REGEXES} /regex/ terms" in error.reason
    assert error.column == query.rindex("/r") + 1


def test_the_regex_cap_counts_query_and_exclude_together():
    query = " OR ".join(f"/r{i}/" for i in range(MAX_RULE_REGEXES))
    with pytest.raises(RuleSyntaxError) as info:
        compile_rules([RuleDef("both", query, exclude="/x/")])
    assert info.value.where == "exclude" and "query and exclude together" in info.value.reason


def test_a_rule_at_the_cap_compiles():
    query = " OR ".join(f"/r{i}/" for i in range(MAX_RULE_REGEXES))
    assert compile_rules([RuleDef("ok", query)]).rules[0].defn.id == "ok"


def test_a_query_can_be_limited_to_one_regex():
    compile_query("/a/ OR повестка", max_regex=1)
    with pytest.raises(RuleSyntaxError, match="at most one /regex/ term"):
        compile_query("/a/ OR /b/", max_regex=1, who="a /search")


def test_when_the_post_budget_is_spent_regex_terms_count_as_false_and_the_rule_is_logged(caplog):
    rules = compile_rules([RuleDef("slow", WORST + " OR /повестка/"), RuleDef("words", "повестка")],
                          regex_budget=0.0)
    with caplog.at_level(logging.WARNING, logger="bot.rules.ruleset"):
        matches = rules.match_text(LONG_POST)
    assert [m.rule_id for m in matches] == ["words"]  # word rules are not affected
    assert "rule 'slow' was cut" in caplog.text


def test_a_regex_within_the_post_budget_matches():
    rules = compile_rules([RuleDef("rx", r"/повест\w+/")], regex_budget=1.0)
    assert [m.rule_id for m in rules.match_text(LONG_POST)] == ["rx"]


def test_the_budget_is_per_post_not_per_rule_set():
    rules = compile_rules([RuleDef("rx", r"/повест\w+/")], regex_budget=1.0)
    for _ in range(3):
        assert [m.rule_id for m in rules.match_text("повестка")] == ["rx"]


def test_several_catastrophic_rules_share_one_budget_per_post(caplog):
    rules = compile_rules([RuleDef(f"slow{i}", WORST) for i in range(6)], regex_budget=0.1)
    with caplog.at_level(logging.WARNING, logger="bot.rules.ruleset"):
        rules.match_text(LONG_POST)
    cut = [r for r in caplog.records if "was cut" in r.getMessage()]
    assert cut and "slow5" in cut[-1].getMessage()  # the last rules find the budget gone


def test_a_rule_cut_on_every_post_is_logged_once_not_on_every_post(caplog):
    rules = compile_rules([RuleDef("slow", WORST)], regex_budget=0.0)
    with caplog.at_level(logging.WARNING, logger="bot.rules.ruleset"):
        for _ in range(5):
            rules.match_text(LONG_POST)
    assert caplog.text.count("rule 'slow' was cut") == 1 and rules.cut == {"slow": 5}
