"""NEAR does bounded work per node: a 100 KB post of one repeated word is not quadratic,
and the windowed pairing finds exactly what checking every pair finds."""
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.rules import compile_query
from bot.rules.nodes import near_hits
from bot.text import analyze


def every_pair(left, right, distance, ordered):
    """The definition: every left hit against every right hit (near_hits without its window)."""
    return near_hits(left, right, distance, ordered, max_checks=10**12, windowed=False)[0]


hit = st.tuples(st.integers(0, 60), st.integers(0, 4)).map(lambda t: (t[0], t[0] + t[1], t[0], t[0] + t[1]))


@settings(max_examples=300, deadline=None)
@given(st.lists(hit, min_size=1, max_size=25), st.lists(hit, min_size=1, max_size=25),
       st.integers(0, 12), st.booleans())
def test_near_pairs_in_a_window_find_what_every_pair_finds(left, right, distance, ordered):
    assert near_hits(left, right, distance, ordered)[0] == every_pair(left, right, distance, ordered)


def test_near_on_100_kb_of_one_repeated_word_checks_a_bounded_number_of_pairs():
    doc = analyze("мобилизация " * 8500)  # ~100 KB
    node = compile_query("мобилизация NEAR/5 мобилизация").node
    left = node.left.evaluate(doc)
    _, checks = near_hits(left, node.right.evaluate(doc), 5, False)
    assert len(left) == 8500 and checks <= len(left) * (2 * 5 + 3)  # every pair would be 72 million


def test_near_stops_at_its_check_cap_and_keeps_what_it_found():
    left = [(i, i + 1, i, i + 1) for i in range(1000)]
    found, checks = near_hits(left, left, 1000, False, max_checks=5000)
    assert checks < 5000 + 1000 and found  # stops within one left hit of the cap


def test_near_on_a_huge_repeated_post_still_matches():
    text = "повестка военкомат " * 5000
    spans = compile_query("повестка NEAR/3 военкомат").matches_text(text)
    assert spans[0] == (0, len("повестка")) and len(spans) <= 2 * 5000
