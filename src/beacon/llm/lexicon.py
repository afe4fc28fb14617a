"""Word-level text features for the offline models: tokens, a light stemmer, stop words.

Deterministic and dependency-free on purpose: the offline embedder, the offline drafter and
retrieval's explanations must agree on what a "term" is."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)

STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just let me more most my myself no nor not now of off on once only or other our
    ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    s t d ll m re ve don isn aren wasn weren doesn didn won wouldn shouldn couldn can't don't
    i'm it's that's there's i've i'd we're they're you're get got go going one two really lot
    much many thing things like well make made way even still""".split()
)

# Longest first; each needs a stem of at least three letters left over.
_SUFFIXES = (
    "ational", "ization", "fulness", "iveness", "ations", "ements", "ement", "ments", "ation",
    "ingly", "ously", "ities", "ness", "ment", "ings", "ies", "ing", "ers", "est", "ity", "ous",
    "ive", "ful", "ed", "er", "es", "ly", "al", "s",
)


@lru_cache(maxsize=200_000)  # a school's vocabulary is small; stemming is the hot path
def stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


# Words every rubric uses: true but useless as an explanation of why a work matched one.
RUBRIC_GENERIC = frozenset(
    stem(w) for w in """use uses used show shows explain explains idea ideas work include includes
    clear clearly detail details detailed level step steps student students try add adds piece
    give gives help helps support supports make makes look looking good better best different
    each every part parts way ways time""".split()
)


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def terms(text: str) -> list[str]:
    """Content-word stems of ``text``, in order."""
    return [stem(w) for w in words(text) if w not in STOP_WORDS and len(w) > 1]


def term_counts(text: str) -> Counter[str]:
    return Counter(terms(text))


def surface_forms(text: str) -> dict[str, str]:
    """For each stem, the most frequent word in ``text`` that produced it (for explanations)."""
    by_stem: dict[str, Counter[str]] = {}
    for word in words(text):
        if word in STOP_WORDS or len(word) <= 1:
            continue
        by_stem.setdefault(stem(word), Counter())[word] += 1
    return {s: forms.most_common(1)[0][0] for s, forms in by_stem.items()}
