"""Normalization, tokens and lemmas: the measured pitfalls from FACTS.md."""
import pytest

from bot.text import analyze, english_lemma, lemma_text, normalize, utf16_offset


def words(text):
    return [t.lower for t in analyze(text).tokens]


def test_soft_hyphen_and_zero_width_do_not_split_a_word():
    assert words("мобили\u00adзация мобили\u200bзация мобили\u2060зация") == ["мобилизация"] * 3


def test_spans_of_a_cleaned_word_cover_the_original_characters():
    text = "Дезер\u00adтиры ушли"
    doc = analyze(text)
    start, end = doc.original_span(doc.tokens[0].start, doc.tokens[0].end)
    assert text[start:end] == "Дезер\u00adтиры"


def test_decomposed_short_i_is_composed():
    assert words("вои\u0306на") == ["война"]


def test_stress_accent_is_dropped():
    assert words("моби\u0301лизация") == ["мобилизация"]


def test_yo_is_folded_on_forms_and_lemmas():
    tok = analyze("Ёлки учёт").tokens
    assert tok[0].lower == "елки" and "елка" in tok[0].keys
    assert "учет" in tok[1].keys


def test_latin_lookalikes_fold_inside_cyrillic_words():
    assert words("мoбилизация BДB") == ["мобилизация", "вдв"]


def test_pure_latin_words_are_left_alone():
    assert words("Moscow") == ["moscow"]


def test_a_word_wholly_in_latin_lookalikes_folds_next_to_cyrillic_words():
    assert words("сбежал c фронта HA ПОЗИЦІЇ BOEHKOMAT Пскова") == [
        "сбежал", "с", "фронта", "на", "позиції", "военкомат", "пскова"]


def test_a_run_of_lookalike_words_folds_from_either_side():
    assert words("СОЛДАТЫ HA TOM БЕРЕГУ") == ["солдаты", "на", "том", "берегу"]


def test_capitalised_lookalike_abbreviations_stay_latin_beside_lower_case_words():
    assert words("Отсрочка для IT специалистов") == ["отсрочка", "для", "it", "специалистов"]


def test_lookalike_only_words_stay_latin_in_an_english_text():
    assert words("The TCC chose a OK") == ["the", "tcc", "chose", "a", "ok"]


def test_ukrainian_apostrophes_keep_words_whole():
    assert words("пам’ять памʼять пам'ять") == ["пам'ять"] * 3


def test_hashtag_with_underscore_splits_into_words():
    doc = analyze("#отказники_вдв новость")
    assert [t.lower for t in doc.tokens] == ["отказники", "вдв", "новость"]
    assert doc.hashtags == ["отказники_вдв"]
    assert [t.tag for t in doc.tokens] == [0, 0, -1]


def test_ukrainian_letters_choose_the_ukrainian_analyzer():
    tok = analyze("повістки").tokens[0]
    assert tok.lang == "uk" and "повістка" in tok.keys


def test_russian_lemmas_join_verb_forms():
    assert "отказаться" in analyze("отказавшись").tokens[0].keys
    assert "отказаться" not in analyze("отказываются").tokens[0].keys


def test_russian_lemma_does_not_collide_like_a_stemmer():
    assert "приз" not in analyze("призыв").tokens[0].keys


def test_english_spellings_of_mobilization_meet():
    assert english_lemma("mobilisation") == english_lemma("mobilization")


def test_english_deserters_do_not_meet_desert():
    assert english_lemma("deserters") != english_lemma("desert")


def test_english_mobile_does_not_meet_mobilization():
    assert english_lemma("mobile") != english_lemma("mobilization")


def test_english_verb_forms_meet():
    assert len({english_lemma(w) for w in ("refuse", "refused", "refuses", "refusing")}) == 1


def test_lemma_text_has_one_lemma_per_token_in_order():
    assert lemma_text("Жёны мобилизованных, повістки!") == "жена мобилизовать повістка"


def test_clean_text_is_returned_unchanged_without_offset_maps():
    assert normalize("Обычный текст") == ("Обычный текст", None, None)


def test_utf16_offset_counts_an_emoji_as_two():
    assert utf16_offset("🪖 повестка", 2) == 3


def test_zero_for_o_inside_a_cyrillic_word_is_folded():
    assert words("м0билизация ВОЕНК0МАТ") == ["мобилизация", "военкомат"]


def test_zero_in_numbers_with_units_is_kept():
    assert words("100км 2024г") == ["100км", "2024г"]


@pytest.mark.parametrize("query, post", [
    ("summons", "Summonses"), ("refuse", "refused"), ("refuse", "refusing"), ("mobilize", "mobilized"),
    ("mobilize", "mobilised"), ("soldier", "soldiers"), ("go", "went"), ("go", "gone"), ("man", "men"),
    ("leave", "left"), ("catch", "caught"), ("crisis", "crises"),
])
def test_english_word_forms_share_a_lemma(query, post):
    from bot.text import english_lemmas
    assert set(english_lemmas(query.lower())) & set(english_lemmas(post.lower()))


def test_a_summons_rule_matches_summonses():
    from bot.rules import compile_query
    assert compile_query("summons").matches_text("Summonses were handed out at the metro.")


def test_english_lemma_text_lists_every_lemma_so_the_index_finds_any_of_them():
    assert lemma_text("Men left") == "man leave left"
