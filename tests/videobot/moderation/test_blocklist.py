"""Blocked terms: normalisation and whole-word matching, exhaustively (pure functions)."""

from __future__ import annotations

import pytest

from videobot.moderation import ModerationError
from videobot.moderation.blocklist import ZERO_WIDTH, check_term, find_term, normalise, term_pattern


def blocks(term: str, text: str) -> bool:
    checked = check_term(term)
    return find_term(text, [(checked.key, checked.shown)]) == checked.shown


# -- normalise ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CAT", "cat"),
        ("Straße", "strasse"),  # case folding, not just lower()
        ("İstanbul", "istanbul"),  # folding yields i + combining dot, which goes
        ("café", "cafe"),  # precomposed é
        ("cafe\u0301", "cafe"),  # e + combining acute
        ("Ñandú", "nandu"),
        ("ｃａｔ", "cat"),  # fullwidth (NFKC)
        ("𝐜𝐚𝐭", "cat"),  # mathematical bold (NFKC)
        ("ﬁsh", "fish"),  # ligature (NFKC)
        ("c\u200bat", "cat"),  # zero-width space
        ("c\u200cat", "cat"),  # zero-width non-joiner
        ("c\u200dat", "cat"),  # zero-width joiner
        ("c\u2060at", "cat"),  # word joiner
        ("c\ufeffat", "cat"),  # zero-width no-break space / BOM
        ("c\u00adat", "cat"),  # soft hyphen
        ("c\u202eat", "cat"),  # a bidi override (category Cf) hides text just as well
        ("c\u0336a\u0336t\u0336", "cat"),  # strike-through combining marks
        ("a\u00a0cat", "a cat"),  # no-break space becomes a space
        ("", ""),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_every_named_zero_width_character_is_removed() -> None:
    assert {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"} <= ZERO_WIDTH
    for char in ZERO_WIDTH:
        assert normalise(f"c{char}a{char}t") == "cat", repr(char)


@pytest.mark.parametrize("text", ["Crème BRÛLÉE", "ｆｕｌｌ ｗｉｄｔｈ", "İ\u0307x", "c\u200ba\u0301t", "ǅ"])
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


# -- matching -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a cat on a roof",
        "cat",
        "CAT!",
        "(cat)",
        "the cat, the dog",
        "a c\u200bat on a roof",  # hidden behind a zero-width space
        "a c\u00adat",  # soft hyphen
        "a càt",  # accent
        "a ca\u0301t",  # combining accent
        "a ＣＡＴ",  # fullwidth
        "a 𝒸𝒶𝓉",  # mathematical script
        "cat\nnext line",
        "«cat»",
    ],
)
def test_a_term_is_found_however_it_is_disguised(text: str) -> None:
    assert blocks("cat", text)


@pytest.mark.parametrize(
    "text",
    ["category", "concatenate", "cats", "bobcat", "cat_food", "cat2", "scat", "c a t", "c.a.t", "a dog"],
)
def test_a_term_matches_whole_words_only(text: str) -> None:
    # c.a.t (letters split by punctuation) is not handled: whole words only, as documented.
    assert not blocks("cat", text)


@pytest.mark.parametrize(
    "text",
    [
        "a bad word here",
        "a bad  word",
        "a bad\tword",
        "a bad\nword",
        "a bad\u00a0word",  # no-break space
        "a BAD Wörd",
        "a b\u200bad w\u200bord",
    ],
)
def test_a_phrase_matches_with_any_whitespace_between_its_words(text: str) -> None:
    assert blocks("bad word", text)


@pytest.mark.parametrize("text", ["a badword", "a bad-word", "a bad words", "a word bad", "bad", "abad word"])
def test_a_phrase_needs_its_words_in_order_as_whole_words(text: str) -> None:
    assert not blocks("bad word", text)


def test_terms_are_normalised_like_prompts() -> None:
    assert blocks("CAFÉ", "a cafe at night")
    assert blocks("c\u200bat", "a cat")
    assert blocks("  bad    word ", "a bad word")
    assert check_term("  bad    word ").shown == "bad word"
    assert check_term("Crème").key == "creme"


def test_terms_with_regex_characters_are_taken_literally() -> None:
    assert blocks("c++", "learn c++ today")
    assert not blocks("c++", "learn c today")
    assert blocks("a.b", "an a.b test")
    assert not blocks("a.b", "an axb test")
    assert blocks("$money$", "get $money$ now")
    assert term_pattern("(x)").pattern.startswith("(?<!\\w)")


def test_the_first_matching_term_is_named_as_typed() -> None:
    terms = [(check_term(t).key, check_term(t).shown) for t in ["dog", "Café", "cat"]]
    assert find_term("a CAFE and a cat", terms) == "Café"
    assert find_term("nothing here", terms) is None
    assert find_term("anything", []) is None


@pytest.mark.parametrize(
    ("term", "problem"),
    [
        ("", "Give the word"),
        ("   ", "Give the word"),
        ("\u200b\u200b", "at least one letter or digit"),
        ("!!!", "at least one letter or digit"),
        ("\u0301", "at least one letter or digit"),
        ("x" * 101, "at most 100 characters"),
    ],
)
def test_unusable_terms_are_refused_with_the_reason(term: str, problem: str) -> None:
    with pytest.raises(ModerationError, match=problem):
        check_term(term)


def test_a_term_of_exactly_the_limit_is_accepted() -> None:
    assert check_term("x" * 100).key == "x" * 100
