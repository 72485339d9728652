"""Callback data: every kind packs and unpacks to itself, stays under 64 bytes, and
data from another kind, an old build or a hand-typed string is refused."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.delivery.buttons import (
    MAX_DATA, DecideCallback, Feedback, MuteRule, SearchPage, alert_buttons, decision_buttons, page_buttons,
    unpack,
)

rule_ids = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
kinds = st.one_of(
    st.builds(Feedback, st.integers(1, 10**12), rule_ids, st.booleans()),
    st.builds(MuteRule, rule_ids),
    st.builds(DecideCallback, st.integers(-10**13, 10**13), st.booleans()),
    st.builds(SearchPage, st.integers(1, 10**6)),
)


@given(kinds)
def test_every_kind_round_trips(data):
    if not data.fits():
        with pytest.raises(ValueError):
            data.pack()
        return
    packed = data.pack()
    assert len(packed.encode()) <= MAX_DATA
    assert unpack(packed) == data
    assert type(data).unpack(packed) == data


def test_the_stored_formats_stay_as_they_were():
    assert Feedback(5, "mob", True).pack() == "fb:+:5:mob"
    assert Feedback(5, "*", False).pack() == "fb:-:5:*"
    assert MuteRule("mob").pack() == "mute:mob"
    assert DecideCallback(42, True).pack() == "ap:42"
    assert DecideCallback(-100, False).pack() == "dn:-100"
    assert SearchPage(3).pack() == "sp:3"


def test_a_rule_id_with_colons_survives():
    assert unpack(Feedback(1, "a:b", True).pack()) == Feedback(1, "a:b", True)


@pytest.mark.parametrize("data", ["", "fb", "fb:x:1:r", "fb:+:one:r", "fb:+:1:", "mute:", "ap:x", "zz:1", "sp:"])
def test_malformed_data_is_refused(data):
    with pytest.raises(ValueError):
        unpack(data)


def test_one_kind_refuses_anothers_data():
    with pytest.raises(ValueError):
        Feedback.unpack(MuteRule("mob").pack())


def test_search_page_numbers_below_one_read_as_the_first():
    assert unpack("sp:0") == SearchPage(1)


def test_built_rows_unpack_to_what_they_mean():
    feedback = [unpack(b.data) for row in alert_buttons(9, ["mob"]) for b in row]
    assert feedback == [Feedback(9, "mob", True), Feedback(9, "mob", False), MuteRule("mob")]
    assert [unpack(b.data) for b in decision_buttons(7)[0]] == [DecideCallback(7, True), DecideCallback(7, False)]
    assert [unpack(b.data) for b in page_buttons(2, True)[0]] == [SearchPage(1), SearchPage(3)]
    assert page_buttons(1, False) == ()
