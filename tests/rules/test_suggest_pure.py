"""bot/rules/suggest.py on hand-made posts: which words become suggestions, and how a
suggestion changes a rule."""
from bot.models import RuleDef
from bot.rules import compile_rules
from bot.rules.suggest import (Background, Effect, Post, Suggestion, effect, floods, majority,
                               suggest_alternatives, suggest_vetoes)

RULE = RuleDef("callup", "повестк* OR призыв*")
NONE = Background.of([])


def posts(*texts, start=1):
    return [Post(start + i, t) for i, t in enumerate(texts)]


def test_a_word_only_in_not_relevant_hits_becomes_a_veto_with_its_counts():
    bad = posts("Повестка дня сессии: бюджет и дороги.", "В повестке дня заседания — тарифы.",
                "Губернатор призвал жителей к осторожности.")
    good = posts("Военкомат рассылает повестки мужчинам.", "Осенний призыв начался в Пскове.", start=10)
    stored = Background.of(["Хороший день в Пскове."] * 10 + ["Мост открыт."] * 90)  # «день» is common
    found = {s.term: s for s in suggest_vetoes(RULE, good, bad, stored)}
    assert found['"повестка день"'] == Suggestion("veto", '"повестка день"', 2, 0)
    assert "повестка" not in found and "день" not in found  # the rule's own word; a common word
    alone = {s.term for s in suggest_vetoes(RULE, good, bad, NONE)}
    assert "день" in alone and '"повестка день"' not in alone  # a word that does alone beats the phrase


def test_a_word_in_relevant_hits_too_is_not_proposed():
    bad = posts("Пскову выделили бюджет на повестку дня.", "Бюджет: повестка сессии.")
    good = posts("Бюджет военкомата и повестки.", "Повестки и бюджет призыва.", start=10)
    assert "бюджет" not in {s.term for s in suggest_vetoes(RULE, good, bad, NONE)}


def test_words_common_in_stored_posts_are_never_proposed():
    background = Background.of(["Сегодня в Пскове дождь."] * 10 + ["Военкомат"] * 90)
    bad = posts("Сегодня повестка дня.", "Сегодня призывают к осторожности.")
    assert "сегодня" not in {s.term for s in suggest_vetoes(RULE, [], bad, background)}
    assert "сегодня" in {s.term for s in suggest_vetoes(RULE, [], bad, NONE)}


def test_words_of_missed_relevant_posts_become_alternatives():
    missed = posts("ТЦК задержали мужчину у метро.", "Сотрудники ТЦК проверяют документы.")
    found = {s.term: s for s in suggest_alternatives(RULE, missed, [], NONE)}
    assert found["тцк"] == Suggestion("alternative", "тцк", 2, 0)


def test_applying_a_veto_extends_exclude_and_an_alternative_extends_the_query():
    veto = Suggestion("veto", '"повестка день"', 2, 0).apply(RULE)
    assert veto.exclude == '"повестка день"' and veto.query == RULE.query
    again = Suggestion("veto", "бюджет", 2, 0).apply(veto)
    assert again.exclude == '("повестка день") OR бюджет'
    added = Suggestion("alternative", "тцк", 2, 0).apply(RULE)
    assert added.query == "(повестк* OR призыв*) OR тцк" and added.exclude is None
    compile_rules([again]), compile_rules([added])  # both still compile


def test_effect_counts_the_hits_added_and_removed():
    stored = posts("Повестка дня сессии.", "Военкомат рассылает повестки.", "ТЦК у метро.")
    veto = Suggestion("veto", '"повестка день"', 1, 0).apply(RULE)
    assert effect(RULE, veto, stored) == Effect(added=(), removed=(1,))
    added = Suggestion("alternative", "тцк", 1, 0).apply(RULE)
    assert effect(RULE, added, stored) == Effect(added=(3,), removed=())


def test_an_alternative_that_would_flood_is_dropped():
    s = Suggestion("alternative", "случай", 2, 0)
    assert floods(s, Effect(added=tuple(range(12)), removed=()))
    assert not floods(s, Effect(added=tuple(range(11)), removed=()))
    assert not floods(Suggestion("veto", "x", 2, 0), Effect(added=(), removed=tuple(range(50))))


def test_majority_of_votes_per_rule_or_over_all_rules():
    votes = {"callup": (0, 2), "mobilization": (3, 3)}
    assert majority(votes, "callup") is False
    assert majority(votes, "mobilization") is True
    assert majority(votes) is True  # 3 of 5 votes say relevant
    assert majority({"callup": (1, 2)}, "callup") is None
    assert majority(votes, "refusals") is None
