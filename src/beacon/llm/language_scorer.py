"""A small learned scorer for language criteria (cohesion, syntax, vocabulary, phraseology,
grammar, conventions), trained on human ratings: a ridge regression over word and character
n-grams plus a few surface features, with level cut points matched to the raters' distribution.

Trained by ``scripts/train_language_scorer.py`` on the ELLIPSE corpus (CC BY-NC-SA 4.0): the
weights in ``language_scorer.json.gz`` are a derivative work under that licence (see ``NOTICE``
beside them). Inference is plain Python: no numpy or scikit-learn at run time.

Whitespace is normalised before anything is counted, so a work with its paragraph breaks removed
gets exactly the same levels."""

from __future__ import annotations

import gzip
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TRAITS = ("cohesion", "syntax", "vocabulary", "phraseology", "grammar", "conventions")
MODEL_FILE = Path(__file__).with_name("language_scorer.json.gz")

_WS = re.compile(r"\s+")
_WORD = re.compile(r"\w\w+")  # scikit-learn's default token pattern, without its backtracking \b
_TOKEN = re.compile(r"[A-Za-z]+|[0-9]+|[^\sA-Za-z0-9]")
_ENDS = re.compile(r"[.!?]+")
_LOWER_START = re.compile(r"[.!?] +[a-z]")
_SPACE_BEFORE = re.compile(r" [,.]")
_NO_SPACE_AFTER = re.compile(r"[,.][A-Za-z]")


def normalise(text: str) -> str:
    return _WS.sub(" ", text).strip()


def word_ngrams(text: str) -> list[str]:
    """Lower-cased words and word pairs of normalised text."""
    tokens = _WORD.findall(text.lower())
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]


def char_ngrams(text: str) -> list[str]:
    """2- to 4-letter pieces of each space-padded word (scikit-learn's ``char_wb``)."""
    grams = []
    for word in text.lower().split():
        padded = f" {word} "
        for n in (2, 3, 4):
            if len(padded) <= n:
                grams.append(padded)
                break
            grams.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    return grams


@lru_cache(maxsize=1)
def _frequencies() -> dict[str, int]:
    """English word frequencies (pyspellchecker's list): spelling and word rarity."""
    from spellchecker import SpellChecker

    return SpellChecker().word_frequency.dictionary


def surface(text: str) -> list[float]:
    """Cheap whole-text features of normalised text: length, word length, variety, sentence
    length, punctuation habits, unknown (misspelt) and rare words."""
    tokens = _TOKEN.findall(text)
    words = [t for t in tokens if t[0].isalpha()]
    lower = [w.lower() for w in words]
    n = max(1, len(words))
    sentences = max(1, len(_ENDS.findall(text)))
    known = _frequencies()
    unknown = sum(1 for w in lower if len(w) > 1 and w not in known) / n
    logs = [math.log(known.get(w, 1)) for w in lower]
    rare_below = math.log(50_000)
    return [
        math.log1p(len(words)), sum(map(len, words)) / n, len(set(lower)) / math.sqrt(n), len(words) / sentences,
        sum(1 for w in words if w == "i") / n, text.count(",") / n, len(_LOWER_START.findall(text)) / sentences,
        unknown, sum(logs) / n, sum(1 for v in logs if 0 < v < rare_below) / n, sum(1 for w in lower if len(w) >= 8) / n,
        len(_SPACE_BEFORE.findall(text)) / n, len(_NO_SPACE_AFTER.findall(text)) / n, math.sqrt(unknown),
    ]


def misspelt(text: str) -> int:
    """How many words of ``text`` are not English words (spelling slips, "cant", "thats")."""
    known = _frequencies()
    return sum(1 for w in _TOKEN.findall(text) if w[0].isalpha() and len(w) > 1 and w.lower() not in known)


def reads_as_english(text: str, sample_words: int = 2000) -> bool:
    """Most of the work's words are English words (the scorer learned English writing)."""
    words = [w.lower() for w in _TOKEN.findall(text[: sample_words * 12]) if w[0].isalpha()][:sample_words]
    known = _frequencies()
    return bool(words) and sum(1 for w in words if w in known) / len(words) >= 0.75


@dataclass(frozen=True)
class TraitEstimate:
    score: float  # on the raters' 1-5 scale
    level: int  # 1..4, by cut points matched to the raters' level distribution
    margin: float  # distance to the nearest cut point, in score units


class LanguageScorer:
    """Loaded once per process from the shipped weights."""

    def __init__(self, model: dict):
        self.word_index = {g: i for i, g in enumerate(model["word_vocabulary"])}
        self.char_index = {g: i for i, g in enumerate(model["char_vocabulary"])}
        self.word_idf, self.char_idf = model["word_idf"], model["char_idf"]
        self.surface_mean, self.surface_scale = model["surface_mean"], model["surface_scale"]
        self.coef, self.intercept = model["coef"], model["intercept"]  # per trait: [word..., char..., surface...]
        self.cuts, self.pooling = model["cuts"], model["pooling"]
        self.meta = model["meta"]

    @staticmethod
    def _tfidf(grams: list[str], index: dict[str, int], idf: list[float]) -> dict[int, float]:
        counts = Counter(index[g] for g in grams if g in index)
        weights = {i: (1.0 + math.log(c)) * idf[i] for i, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
        return {i: v / norm for i, v in weights.items()}

    def scores(self, text: str) -> dict[str, float]:
        """Each trait's predicted score on the 1-5 scale."""
        text = normalise(text)
        words = self._tfidf(word_ngrams(text), self.word_index, self.word_idf)
        chars = self._tfidf(char_ngrams(text), self.char_index, self.char_idf)
        offset = len(self.word_idf)
        dense_at = offset + len(self.char_idf)
        dense = [(v - m) / s for v, m, s in zip(surface(text), self.surface_mean, self.surface_scale, strict=True)]
        raw = []
        for coef, intercept in zip(self.coef, self.intercept, strict=True):
            value = intercept + sum(coef[i] * v for i, v in words.items())
            value += sum(coef[offset + i] * v for i, v in chars.items())
            value += sum(coef[dense_at + i] * v for i, v in enumerate(dense))
            raw.append(value)
        # Traits move together: each is pulled part way towards their mean (less noise).
        mean = sum(raw) / len(raw)
        return {t: self.pooling * r + (1 - self.pooling) * mean for t, r in zip(TRAITS, raw, strict=True)}

    def estimate(self, text: str) -> dict[str, TraitEstimate]:
        out = {}
        for trait, score in self.scores(text).items():
            cuts = self.cuts[trait]
            out[trait] = TraitEstimate(score, 1 + sum(score > c for c in cuts), min(abs(score - c) for c in cuts))
        return out


@lru_cache(maxsize=1)
def scorer() -> LanguageScorer:
    with gzip.open(MODEL_FILE, "rt", encoding="utf-8") as handle:
        return LanguageScorer(json.load(handle))


# Which trait a language criterion is, read from its id and title (first match wins).
_TRAIT_CUES = (
    ("conventions", ("convention", "spelling", "punctuation", "mechanics", "capitali")),
    ("grammar", ("grammar",)),
    ("phraseology", ("phras", "idiom", "collocation")),
    ("vocabulary", ("vocabulary", "word choice", "word")),
    ("syntax", ("syntax", "sentence")),
    ("cohesion", ("cohesion", "transition", "coheren", "organization", "flow")),
)


def trait_of(name: str) -> str | None:
    """The trait a criterion named ``name`` (id and title) measures, if it is one of the six."""
    name = name.lower()
    for trait, cues in _TRAIT_CUES:
        if any(cue in name for cue in cues):
            return trait
    return None
