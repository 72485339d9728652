"""RuleSet: compile all-or-nothing, match posts, filters, index, explain."""
import pytest

from bot.models import RuleDef
from bot.rules import RuleSyntaxError, compile_rules

from datetime import datetime, timezone

from bot.models import Post


def make_post(**overrides) -> Post:
    fields = dict(channel_id=-1001000000001, message_id=1, text="", channel="pskovgubernia",
                  date=datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc))
    return Post(**(fields | overrides))


def ruleset(*defs):
    return compile_rules(defs)


def test_match_carries_rule_tags_severity_and_spans():
    rs = ruleset(RuleDef("r1", "повестка", tags=("mobilization",), severity="low"))
    [m] = rs.match(make_post(text="Пришла повестка."))
    assert (m.rule_id, m.tags, m.severity, m.spans) == ("r1", ("mobilization",), "low", ((7, 15),))


def test_exclude_vetoes_the_rule():
    rs = ruleset(RuleDef("r1", "отказаться", exclude="комментарий"))
    assert rs.match_text("Он отказался от комментариев") == []
    assert [m.rule_id for m in rs.match_text("Он отказался воевать")] == ["r1"]


def test_disabled_rule_is_kept_but_never_matches():
    rs = ruleset(RuleDef("off", "повестка", enabled=False))
    assert [d.id for d in rs.defs] == ["off"] and rs.match_text("повестка") == []


def test_channel_include_accepts_username_case_insensitively():
    rs = ruleset(RuleDef("r1", "повестка", channels_include=("pskovgubernia",)))
    assert rs.match(make_post(text="повестка", channel="PskovGubernia"))
    assert rs.match(make_post(text="повестка", channel="other")) == []


def test_channel_exclude_accepts_channel_id():
    rs = ruleset(RuleDef("r1", "повестка", channels_exclude=("-100123",)))
    assert rs.match(make_post(text="повестка", channel_id=-100123)) == []
    assert rs.match(make_post(text="повестка", channel_id=-100999))


def test_langs_filter_uses_the_detected_language():
    rs = ruleset(RuleDef("r1", "тцк", langs=("uk",)))
    assert rs.match_text("ТЦК вручають повістки") and rs.match_text("ТЦК вручает повестки") == []


def test_compile_is_all_or_nothing_and_names_the_bad_rule():
    with pytest.raises(RuleSyntaxError) as info:
        compile_rules([RuleDef("good", "повестка"), RuleDef("bad", "(повестка")])
    assert info.value.rule_id == "bad" and "rule 'bad'" in str(info.value)


def test_error_in_exclude_names_the_field():
    with pytest.raises(RuleSyntaxError) as info:
        compile_rules([RuleDef("r", "повестка", exclude="a AND")])
    assert info.value.where == "exclude"


def test_duplicate_ids_are_refused():
    with pytest.raises(RuleSyntaxError):
        compile_rules([RuleDef("r", "a"), RuleDef("r", "b")])


def test_index_skips_rules_whose_terms_are_absent():
    rs = ruleset(RuleDef("a", "повестка"), RuleDef("b", "дезертир"), RuleDef("c", "/x/"))
    from bot.text import analyze
    picked = [rs.rules[n].defn.id for n in rs.candidates(analyze("повестка пришла"))]
    assert picked == ["a", "c"]


def test_rule_with_only_not_is_always_a_candidate_and_matches():
    rs = ruleset(RuleDef("quiet", "NOT повестка"))
    assert [m.rule_id for m in rs.match_text("погода")] == ["quiet"]


def test_spans_point_into_the_original_text_with_invisible_characters():
    text = "\u200bНовые пo\u00adвестки пришли"
    [m] = ruleset(RuleDef("r", "повестка")).match_text(text)
    (a, b), = m.spans
    assert text[a:b] == "пo\u00adвестки"


def test_explain_shows_found_terms_and_verdict():
    rs = ruleset(RuleDef("r", "отказаться NEAR/3 воевать", exclude="комментарий"))
    out = rs.explain("r", "Они отказались воевать")
    assert "TRUE" in out and "'отказались'@4" in out and out.endswith("MATCH, spans: [4, 14) 'отказались', [15, 22) 'воевать'")


def test_explain_reports_the_exclude_veto():
    out = ruleset(RuleDef("r", "отказаться", exclude="комментарий")).explain("r", "отказался от комментариев")
    assert "exclude VETOES the match" in out and out.endswith("NO MATCH")


def test_explain_unknown_rule_is_a_user_error():
    with pytest.raises(RuleSyntaxError):
        ruleset(RuleDef("r", "a")).explain("nope", "text")


def test_explain_folds_alternatives_whose_words_are_absent():
    rs = ruleset(RuleDef("r", "a1 OR b2 OR c3 OR d4 OR повестка"))
    out = rs.explain("r", "пришла повестка")
    assert "(4 other alternatives: no word found)" in out and "a1" not in out


def test_user_errors_without_a_source_have_no_caret():
    with pytest.raises(RuleSyntaxError) as info:
        ruleset(RuleDef("r", "a")).explain("nope", "text")
    assert str(info.value).startswith("rule 'nope': no rule") and "^" not in str(info.value)
