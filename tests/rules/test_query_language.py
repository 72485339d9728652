"""The query language, one operator per test, through compile_query."""
import pytest

from bot.rules import RuleSyntaxError, compile_query


def hits(query, text):
    return [text[a:b] for a, b in compile_query(query).matches_text(text)]


def test_word_matches_every_form_of_its_lemma():
    assert hits("отказаться", "Солдаты отказались, отказавшись ехать") == ["отказались", "отказавшись"]


def test_word_does_not_match_another_verb_of_the_family():
    assert hits("отказаться", "Они отказываются") == []


def test_exact_form_matches_only_that_form():
    assert hits("=повестки", "повестка и повестки") == ["повестки"]


def test_exact_dictionary_form_does_not_match_other_forms():
    assert hits("=призыв", "призыв, призывами, призыва") == ["призыв"]
    assert hits('="военный сбор"', "военные сборы и военный сбор") == ["военный сбор"]


def test_exact_capitals_are_case_sensitive():
    assert hits("=СОЧ", "за СОЧ судят; соч. том 2; Сочи") == ["СОЧ"]


def test_prefix_matches_word_beginnings():
    assert hits("мобилиз*", "мобилизация и мобилизованных") == ["мобилизация", "мобилизованных"]


def test_prefix_needs_three_letters():
    with pytest.raises(RuleSyntaxError):
        compile_query("мо*")


def test_phrase_needs_adjacent_words_in_order():
    assert hits('"повестка дня"', "в повестке дня") == ["повестке дня"]
    assert hits('"повестка дня"', "дня повестка") == []


def test_phrase_keeps_a_latin_word_beside_a_cyrillic_one():
    assert hits('"IT отсрочка"', "Минцифры: IT-отсрочка остается") == ["IT-отсрочка"]


def test_phrase_folds_lookalikes_inside_a_cyrillic_word():
    assert hits('"пoвестка дня"', "в повестке дня") == ["повестке дня"]


def test_exact_phrase_needs_exact_forms():
    assert hits('="военные сборы"', "военный сбор") == []
    assert hits('="военные сборы"', "на военные сборы") == ["военные сборы"]


def test_near_counts_words_either_way():
    assert hits("отказ NEAR/2 воевать", "воевать, за отказ") == ["воевать", "отказ"]
    assert hits("отказ NEAR/1 воевать", "отказ всем воевать") == []


def test_onear_requires_order():
    assert hits("отказ ONEAR/3 воевать", "воевать и отказ") == []
    assert hits("отказ ONEAR/3 воевать", "отказ воевать") == ["отказ", "воевать"]


def test_juxtaposition_and_ampersand_mean_and():
    assert hits("повестка военкомат", "повестка пришла") == []
    assert hits("повестка & военкомат", "военкомат, повестка") == ["военкомат", "повестка"]


def test_or_and_pipe_mean_or():
    assert hits("дезертир | отказник", "отказники") == ["отказники"]


def test_not_and_minus_veto():
    assert hits("повестка -дня", "повестка дня") == []
    assert hits("повестка NOT дня", "повестка пришла") == ["повестка"]


def test_parentheses_group():
    assert hits("(повестка OR военкомат) AND мужчина", "военкомат позвал мужчин") == ["военкомат", "мужчин"]


def test_hashtag_matches_whole_tag_and_underscore_part():
    assert hits("#отказники", "#отказники_вдв") == ["#отказники_вдв"]
    assert hits("#отказники_вдв", "#отказники_вдв") == ["#отказники_вдв"]
    assert hits("#отказники", "отказники без тега") == []


def test_word_matches_inside_a_hashtag():
    assert hits("отказник", "#отказники_вдв") == ["отказники"]


def test_regex_applies_to_normalized_text():
    assert hits(r"/ст\.\s*33[278]/i", "по Ст.\u00ad 337 УК") == ["Ст.\u00ad 337"]


def test_backtracking_regex_gives_up_on_a_long_post_and_other_terms_still_match():
    query = compile_query(r"/(\w+\s?)+!$/ OR мобилизация")
    text = "слово " * 5000 + "мобилизация"
    assert query.matches_text(text) == [(len(text) - len("мобилизация"), len(text))]


def test_hyphenated_query_word_is_a_phrase():
    assert hits("call-up", "a call up paper") == ["call up"]


def test_spans_are_merged_and_sorted():
    assert compile_query("мобилизация OR мобилиз*").matches_text("мобилизация") == [(0, 11)]


@pytest.mark.parametrize("query,column", [("a AND", 6), ("(a OR b", 1), ('"abc', 1), ("/[/", 1),
                                          ("a ) b", 3), ("x NEAR b", 3)])
def test_syntax_error_points_at_the_spot(query, column):
    with pytest.raises(RuleSyntaxError) as info:
        compile_query(query)
    assert info.value.column == column and info.value.line == 1


def test_syntax_error_message_shows_the_line_and_a_caret():
    with pytest.raises(RuleSyntaxError) as info:
        compile_query("повестка AND\n  (военкомат")
    lines = str(info.value).splitlines()
    assert info.value.line == 2 and info.value.column == 3
    assert lines[1].strip() == "(военкомат" and lines[2] == "    ^"


def test_a_regex_with_a_newline_cannot_forge_a_log_line_when_it_times_out(caplog):
    query = compile_query("/(\\w+\\s?)+!$|\nCRITICAL forged line/")
    query.matches_text("слово " * 5000)
    [record] = [r for r in caplog.records if "gave up" in r.getMessage()]
    assert "\n" not in record.getMessage() and "\\nCRITICAL forged line" in record.getMessage()
