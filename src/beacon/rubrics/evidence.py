"""What evidence of each competency looks like: the kinds of work and the moves they make
(``rubrics/evidence/<competency>.yaml``), and how strongly a work makes each move.

Retrieval ranks on this, not on shared topic words: an opinion essay *about* group work makes an
argument's moves (a position, reasons, the other side), not a team reflection's (our group, my
role, how we decided). A move is found by its cues: phrases matched on whole words (a trailing
``*`` matches a word's start), or a few detectors for what phrases cannot say (``#number_unit``,
``#equation``, ``#year``, ``#dialogue``, ``#non_english``). Everything is linear in the work."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

Cue = Annotated[str, StringConstraints(min_length=1, max_length=60, strip_whitespace=True)]
DETECTORS = ("#number_unit", "#equation", "#year", "#dialogue", "#non_english")


class Move(BaseModel):
    model_config = ConfigDict(extra="forbid")
    says: Annotated[str, StringConstraints(min_length=3, max_length=200)]
    cues: list[Cue] = Field(min_length=1, max_length=80)
    weight: float = Field(default=1.0, gt=0, le=10)

    @field_validator("cues")
    @classmethod
    def _as_matched(cls, cues: list[str]) -> list[str]:
        """Each cue in the form a work is matched in (once, when the profile is read)."""
        keys = []
        for cue in cues:
            cue = cue.lower().replace("’", "'")
            is_phrase = not cue.startswith("#") and not (cue.endswith("*") and " " not in cue)
            keys.append(" ".join(_WORDS.findall(cue)) if is_phrase else cue)
        return keys


class EvidenceProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    competency: str
    kinds: list[Annotated[str, StringConstraints(min_length=2, max_length=120)]] = Field(min_length=1, max_length=20)
    moves: list[Move] = Field(min_length=1, max_length=12)


def read_profiles(directory: Path) -> tuple[dict[str, EvidenceProfile], list[str]]:
    """Every ``<id>.yaml`` in ``directory``: the profiles, and each problem as 'file: reason'."""
    profiles, problems = {}, []
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        try:
            profile = EvidenceProfile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except ValidationError as exc:
            problems.extend(f"evidence/{path.name}: {'.'.join(map(str, e['loc'])) or '(file)'}: {e['msg']}"
                            for e in exc.errors())
            continue
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            problems.append(f"evidence/{path.name}: {str(exc).splitlines()[0]}")
            continue
        if profile.competency != path.stem:
            problems.append(f"evidence/{path.name}: competency is {profile.competency!r}, not {path.stem!r}")
            continue
        bad = [c for m in profile.moves for c in m.cues if c.startswith("#") and c not in DETECTORS]
        if bad:
            problems.append(f"evidence/{path.name}: unknown detector(s) {', '.join(bad)} (known: {', '.join(DETECTORS)})")
            continue
        profiles[profile.competency] = profile
    return profiles, problems


@lru_cache(maxsize=4)
def profiles_in(directory: Path) -> dict[str, EvidenceProfile]:
    return read_profiles(directory)[0]


# --- What a work does ---------------------------------------------------------------------------
_WORDS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?|\d+(?:[.,]\d+)?")
_UNIT = re.compile(
    r"\d(?:[.,]\d+)?\s?(?:%|°|percent\b|(?:mm|cm|m|km|in|inches|ft|feet|g|kg|mg|lb|lbs|ml|l|liters?|litres?|"
    r"s|sec|seconds?|min|minutes?|hours?|hrs?|days?|weeks?|n|newtons?|mph|km/h|m/s|degrees?|watts?|volts?|"
    r"grams?|meters?|metres?|dollars?|cents?)\b)", re.IGNORECASE)
_EQUATION = re.compile(r"[\w)]\s?[=<>≤≥]\s?[\w(−-]|\d\s?[×x*/+÷−-]\s?\d")
_YEAR = re.compile(r"\b(?:1[4-9]\d\d|20[0-3]\d)s?\b")
# A quoted line of speech (bounded), then or before a speech verb: linear, no nested repetition.
_DIALOGUE = re.compile(r"[\"“][^\"“”\n]{2,300}[,.!?][\"”]")
_FOREIGN = frozenset(
    # The commonest function words of the languages schools teach that English lacks.
    "el la los las del por para con una unos como pero porque también muy es está están soy eres somos tengo "
    "hay mi mis tu su sus que qué y le les du des est sont suis avec pour dans très mais parce aussi je tu il "
    "elle nous vous ils elles mon ma mes ton ta ces une sur der die das und ist nicht ich du wir ihr sie mit "
    "auf für ein eine einen sehr aber weil auch bin bist sind wǒ nǐ tā shì de le hěn hé bù men zài yǒu xǐhuan "
    "wo ni ta shi hen he bu zai you".split())


@dataclass(frozen=True)
class WorkText:
    """A work reduced once to what cue matching needs: word and phrase counts, distinct words."""

    grams: Counter
    distinct: frozenset[str]
    words: int
    detectors: dict[str, int]


def read_work(text: str) -> WorkText:
    text = text.replace("’", "'")
    tokens = _WORDS.findall(text.lower())
    grams = Counter(tokens)
    grams.update(" ".join(tokens[i:i + 2]) for i in range(len(tokens) - 1))
    grams.update(" ".join(tokens[i:i + 3]) for i in range(len(tokens) - 2))
    foreign = sum(1 for t in tokens if t in _FOREIGN)
    n = max(1, len(tokens))
    return WorkText(grams, frozenset(tokens), len(tokens), {
        "#number_unit": len(_UNIT.findall(text)),
        "#equation": len(_EQUATION.findall(text)),
        "#year": len(_YEAR.findall(text)),
        "#dialogue": len(_DIALOGUE.findall(text)),
        # Counted only when the language, not a borrowed word, is foreign.
        "#non_english": foreign if foreign / n >= 0.12 else 0,
    })


def _hits(work: WorkText, cue: str) -> int:
    if cue in work.detectors:
        return work.detectors[cue]
    if cue.endswith("*") and " " not in cue:
        stem = cue[:-1]
        return sum(work.grams[w] for w in work.distinct if w.startswith(stem))
    return work.grams.get(cue, 0)


def move_strength(work: WorkText, move: Move) -> float:
    """0..1: how plainly the work makes the move (distinct cues count more than repeats)."""
    counts = [_hits(work, cue) for cue in move.cues]
    distinct = sum(1 for c in counts if c)
    total = sum(counts)
    return 1.0 - math.exp(-(distinct + 0.25 * max(0, total - distinct)) / 2.0)


@dataclass(frozen=True)
class EvidenceFit:
    competency: str
    fit: float  # 0..1: the weighted share of its moves the work makes
    moves: list[tuple[str, float]]  # each move and its strength, for "why"


def fit(work: WorkText, profile: EvidenceProfile) -> EvidenceFit:
    strengths = [(m.says, move_strength(work, m), m.weight) for m in profile.moves]
    total = sum(w for _, _, w in strengths)
    value = sum(s * w for _, s, w in strengths) / total
    return EvidenceFit(profile.competency, value, [(says, round(s, 3)) for says, s, _ in strengths])


def fits(text: str, profiles: dict[str, EvidenceProfile]) -> dict[str, EvidenceFit]:
    """Every profiled competency's fit for ``text`` (CPU work: run it off the loop for long works)."""
    work = read_work(text)
    return {cid: fit(work, p) for cid, p in profiles.items()}
