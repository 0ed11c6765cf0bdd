"""Blocked terms: how prompts and terms are normalised, and how a term is found in a prompt.

Both sides go through the same `normalise`, so a term matches however it is disguised by the means
Unicode offers cheaply: compatibility forms (fullwidth ``ｃａｔ``, mathematical ``𝐜𝐚𝐭``), case,
accents (``càt``), and invisible characters slipped between letters (``c\u200bat``). A term matches as a
whole word or phrase: ``cat`` does not match ``category`` or ``cats``, and a phrase's words may be
separated by any whitespace.

Not handled (say so rather than pretend): letters separated by punctuation (``c.a.t``), look-alike
letters from other scripts (Cyrillic ``а`` for Latin ``a``), leetspeak (``c4t``), and scripts written
without spaces (whole-word matching needs word boundaries).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from videobot.moderation.refusals import ModerationError

TERM_MAX = 100
TERMS_MAX = 500  # per server: every job's prompt is checked against all of them

# Named for the reader: every one of these is also in Unicode category Cf (format), which is dropped
# as a whole (bidi controls, word joiners and tags hide text just as well).
ZERO_WIDTH = frozenset({"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"})


def normalise(text: str) -> str:
    """Text as blocked terms are matched against it: NFKC, no invisible characters, case-folded, no
    accents or other combining marks."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if c not in ZERO_WIDTH and unicodedata.category(c) != "Cf")
    # Case-fold before decomposing: folding can itself produce combining marks (İ → i + dot above).
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Me"))
    return unicodedata.normalize("NFKC", bare)


@dataclass(frozen=True)
class CheckedTerm:
    """A term a moderator typed: as shown (spacing collapsed) and its normalised key."""

    shown: str
    key: str


def check_term(term: str) -> CheckedTerm:
    """The term to store, or a refusal saying why it cannot be a blocked term."""
    shown = " ".join(term.split())
    if not shown:
        raise ModerationError("Give the word or phrase to block. Nothing was changed.")
    if len(shown) > TERM_MAX:
        raise ModerationError(f"A blocked term can be at most {TERM_MAX} characters. Nothing was changed.")
    key = " ".join(normalise(shown).split())
    if not any(c.isalnum() for c in key):
        raise ModerationError(
            "A blocked term needs at least one letter or digit once accents and invisible characters "
            "are removed. Nothing was changed."
        )
    return CheckedTerm(shown, key)


def term_pattern(key: str) -> re.Pattern[str]:
    """The pattern that finds a normalised term as a whole word or phrase in normalised text."""
    words = r"\s+".join(re.escape(word) for word in key.split())
    return re.compile(rf"(?<!\w){words}(?!\w)")


def find_term(text: str, terms: Iterable[tuple[str, str]]) -> str | None:
    """The first of ``terms`` (``(key, shown)`` pairs) found in ``text``, as shown; None if none is."""
    normalised = normalise(text)
    for key, shown in terms:
        if key and term_pattern(key).search(normalised):
            return shown
    return None
