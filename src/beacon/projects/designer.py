"""The offline project designer: deterministic, no network. It crosses the pattern library with
the student's interests (their own words) and the criteria their mastery record most needs, and
writes three proposals of different kinds. Seeds (student, request, attempt) vary the mix, so two
students with different interests or gaps get different projects, and a regeneration a new one."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from beacon.feedback.drafters import fenced
from beacon.llm.client import ModelClient
from beacon.llm.lexicon import STOP_WORDS, terms
from beacon.llm.prompts import content_hash, render
from beacon.projects.library import LIBRARY, Pattern, PatternLibrary, pattern_library
from beacon.projects.schemas import (
    CriterionRef,
    Milestone,
    Proposal,
    ProposedProjects,
    Target,
    TargetCompetency,
)
from beacon.rubrics.schemas import RubricDefinition

_LEAD_IN = re.compile(r"^(?:i(?:'m| am)?\s+)?(?:really\s+)?(?:love|like|enjoy|am into|into|do|play)\s+", re.I)
# Extra care some interests call for, whatever the pattern (checked on the student's words).
_INTEREST_SAFETY = {
    ("skateboard", "skate", "bike", "bmx", "scooter", "cycl", "climb", "parkour", "ski", "snowboard"):
        "Ride, skate or climb only where it is allowed, with a helmet and pads; film or measure from a safe spot, never in traffic.",
    ("cook", "bake", "baking", "recipe", "food"):
        "Use the stove, oven and knives with an adult; label allergens in anything you share.",
    ("chemi", "rocket", "fire", "explos"):
        "No fire, fuels, rockets or mixing chemicals: test only safe, everyday materials with an adult.",
    ("drone",): "Fly drones only where it is legal, below the height limit, away from people and with an adult.",
    ("swim", "water", "river", "lake", "ocean", "fishing"):
        "Near water, always with an adult and never alone; measure from the shore.",
}
KINDS_BY_WORD = {"film": "film", "video": "film", "build": "build", "prototype": "build", "podcast": "podcast",
                 "game": "game", "perform": "performance", "campaign": "campaign", "exhibit": "exhibit",
                 "data": "data story", "guide": "guidebook", "zine": "guidebook", "event": "event",
                 "interview": "oral history", "experiment": "investigation report", "investigat": "investigation report"}


def interest_phrases(text: str, tags: list[str] | None = None) -> list[str]:
    """The student's interests as short phrases in their own words: "skateboarding, filming and
    physics" → ["skateboarding", "filming", "physics"]."""
    phrases: list[str] = []
    seen: set[frozenset[str]] = set()
    text = re.sub(r"<[^<>]{0,60}>", " ", text)  # markup is not an interest (and is shown as text anyway)
    for raw in [*(tags or []), *re.split(r"[,;/\n&+]|\band\b|\bor\b", text)]:
        phrase = _LEAD_IN.sub("", raw.strip().strip(".!?\"'")).strip()
        key = frozenset(terms(phrase))
        if not key or key in seen or len(phrase.split()) > 6 or all(w in STOP_WORDS for w in phrase.lower().split()):
            continue
        seen.add(key)
        phrases.append(phrase)
    return phrases[:6]


def _chance(seed: str, *parts: object) -> float:
    digest = hashlib.sha256(":".join([seed, *map(str, parts)]).encode()).digest()
    return digest[0] / 255


def _title_case(phrase: str) -> str:
    return " ".join(w if w.isupper() else w[:1].upper() + w[1:] for w in phrase.split())


_PERSONAL = re.compile(r"(?i)^(?:my|our)\s+(?:little\s+|big\s+|older\s+|younger\s+|baby\s+)?"
                       r"(?:brother|sister|mom|mother|dad|father|grand\w*|family|friends?|cousins?|aunt|uncle|"
                       r"parents?|dog|cat|pets?|neighbou?rs?)\b")
_ABOUT_PEOPLE = {"film", "podcast", "oral history", "performance", "exhibit"}


@dataclass
class Brief:
    interests: list[str]
    targets: list[Target]
    rubrics: dict[str, RubricDefinition]
    weeks: int | None = None
    working: str = "either"
    materials: str = ""
    seed: str = ""
    instructions: str | None = None


def aim_level(target: Target, criterion_id: str, rubric: RubricDefinition) -> int:
    """The level a project's evidence on this criterion should reach: the target's aim, worked out
    from the record (else the mastery threshold), on the rubric's scale."""
    aim = next((a.aim for a in target.aims if a.criterion_id == criterion_id), rubric.mastery_threshold)
    return min(max(aim, 1), len(rubric.levels))


@lru_cache(maxsize=1)
def offline_prompt_hash() -> str:
    """The offline designer's "prompt" is its pattern library: hash that."""
    return content_hash(LIBRARY, "patterns.yaml", "competencies.yaml")


class OfflineDesigner:
    name = "offline"

    def __init__(self, library: PatternLibrary | None = None) -> None:
        self.library = library or pattern_library()
        # Each pattern's affinity words as stems, once (every design compares interests to them).
        self.affinity = {p.id: {t for word in p.affinity for t in terms(word)} for p in self.library.patterns}

    @property
    def prompt_hash(self) -> str:
        return offline_prompt_hash()

    def design(self, brief: Brief, count: int = 3) -> list[Proposal]:
        interests = brief.interests or ["what you care about"]
        ranked = self._rank(brief, interests)
        chosen: list[tuple[Pattern, list[Target]]] = []
        for _, pattern, fitting in ranked:
            if pattern.kind not in {p.kind for p, _ in chosen}:
                chosen.append((pattern, fitting))
            if len(chosen) == count:
                break
        used: list[str] = []
        proposals = []
        for n, (pattern, fitting) in enumerate(chosen):
            interest = self._interest_for(pattern, interests, used, brief.seed)
            used.append(interest)
            # Lead with a different gap in turn where the pattern grows more than one.
            lead = fitting[n % len(fitting):] + fitting[:n % len(fitting)]
            proposals.append(self._proposal(pattern, lead, interest, brief))
        return proposals

    def _rank(self, brief: Brief, interests: list[str]):
        wish = (brief.instructions or "").lower()
        wanted = {kind for word, kind in KINDS_BY_WORD.items() if word in wish}
        unwanted = {kind for word, kind in KINDS_BY_WORD.items() if re.search(rf"\bno\s+{word}", wish)}
        working = "solo" if re.search(r"\b(solo|alone|on my own)\b", wish) else brief.working
        working = "group" if re.search(r"\b(group|team)\b", wish) else working
        ranked = []
        for pattern in self.library.patterns:
            if pattern.kind in unwanted or (working == "solo" and pattern.working == "group"):
                continue
            if brief.weeks and pattern.weeks[0] > brief.weeks + 1:
                continue  # a product that cannot be done in the weeks the student has
            if working == "group" and pattern.working == "solo":
                continue
            fitting = [t for t in brief.targets if t.competency_id in pattern.fits
                       and t.competency_id in self.library.competencies and t.competency_id in brief.rubrics]
            if not fitting:
                continue
            interest_fit = max(len(set(terms(i)) & self.affinity[pattern.id]) for i in interests)
            target_fit = sum(1 / (rank + 1) for rank, t in enumerate(brief.targets) if t in fitting)
            # An interest the pattern suits matters most; then the gaps it grows; then variety.
            score = (2.5 * (interest_fit > 0) + 0.5 * min(interest_fit, 2) + 2 * target_fit
                     + 3 * (pattern.kind in wanted) + 0.8 * _chance(brief.seed, pattern.id))
            ranked.append((score, pattern, fitting[:2]))
        ranked.sort(key=lambda r: (-r[0], r[1].id))
        # Every proposal grows the weakest competency when three kinds of product can.
        weakest = brief.targets[0] if brief.targets else None
        growing = [r for r in ranked if weakest in r[2]]
        if len({r[1].kind for r in growing}) >= 3:
            return growing
        return ranked

    def _interest_for(self, pattern: Pattern, interests: list[str], used: list[str], seed: str) -> str:
        affinity = self.affinity[pattern.id]
        # A person ("my little brother") is someone to film or interview, not a topic to test or
        # chart: such an interest goes only to products about people, while others are left.
        fits = [i for i in interests if pattern.kind in _ABOUT_PEOPLE or not _PERSONAL.match(i)] or interests
        # Each proposal builds on a different interest while there are unused ones.
        return max(fits, key=lambda i: (i not in used, len(set(terms(i)) & affinity) > 0,
                                        _chance(seed, pattern.id, i)))

    def _proposal(self, pattern: Pattern, targets: list[Target], interest: str, brief: Brief) -> Proposal:
        seed = brief.seed
        primary = targets[0]
        rubric = brief.rubrics[primary.competency_id]
        uses = self.library.competencies
        audience = pattern.audiences[int(_chance(seed, pattern.id, "audience") * len(pattern.audiences)) % len(pattern.audiences)]
        title = pattern.titles[int(_chance(seed, pattern.id, "title") * len(pattern.titles)) % len(pattern.titles)]
        wish = (brief.instructions or "").lower()
        low, high = pattern.weeks
        weeks = low if "short" in wish else high if "long" in wish else min(max(brief.weeks or low, low), high)
        if brief.weeks:
            weeks = min(weeks, brief.weeks)  # never longer than the student has

        milestones = []
        for step in pattern.milestones:
            refs = [CriterionRef(competency_id=t.competency_id, criterion_id=c)
                    for t in targets for c in uses[t.competency_id].phases.get(step.phase, [])
                    if brief.rubrics[t.competency_id].criterion(c) is not None]
            milestones.append(Milestone(title=step.title, evidence=step.evidence.format(interest=interest), criteria=refs))
        milestones.append(Milestone(
            title="Share it with your audience",
            evidence=f"{pattern.final_product}, presented to {audience}, and a reflection on what you would revise next",
            criteria=[CriterionRef(competency_id=t.competency_id, criterion_id=c)
                      for t in targets for c in uses[t.competency_id].phases.get("share", [])
                      if brief.rubrics[t.competency_id].criterion(c) is not None],
        ))
        for target in targets:  # every focus criterion is judged somewhere
            judged = {(r.competency_id, r.criterion_id) for m in milestones for r in m.criteria}
            for criterion in target.criteria:
                if (target.competency_id, criterion) not in judged:
                    milestones[2].criteria.append(CriterionRef(competency_id=target.competency_id, criterion_id=criterion))

        scaffolds = list(pattern.scaffolds)
        checkpoints = []
        for criterion_id in primary.criteria[:2]:
            criterion = rubric.criterion(criterion_id)
            if criterion is None:
                continue
            if criterion.revision_moves:
                scaffolds.append(f"{criterion.title}: {criterion.revision_moves[0]}")
            goal = criterion.levels[aim_level(primary, criterion_id, rubric)]
            checkpoints.append(f"After “{milestones[2].title}”, ask for feedback on {criterion.title.lower()} "
                               f"and revise toward: {goal}")
        checkpoints.append(f"After “{milestones[3].title}”, compare your work with the rubric and plan one more revision.")

        why = (f"You said you're into “{interest}”. {pattern.product[:1].upper()}{pattern.product[1:]} about "
               f"{interest} grows your {primary.title.lower()}: {primary.reason}")
        if len(targets) > 1:
            why += f" It also builds {targets[1].title.lower()}."
        safety = [pattern.safety] if pattern.safety else []
        safety += [note for words, note in _INTEREST_SAFETY.items() if any(w in interest.lower() for w in words)]
        return Proposal(
            title=title.format(Interest=_title_case(interest), interest=interest),
            driving_question=pattern.questions[int(_chance(seed, pattern.id, "question") * len(pattern.questions))
                                               % len(pattern.questions)].format(interest=interest),
            product_kind=pattern.kind,
            why_it_fits=why,
            interests_used=[interest],
            competencies=[TargetCompetency(competency_id=t.competency_id, rubric_version=t.rubric_version,
                                           title=t.title, criteria=t.criteria) for t in targets],
            milestones=milestones,
            final_product=pattern.final_product,
            audience=audience,
            scaffolds=scaffolds[:8],
            resources=pattern.resources[:8],
            duration_weeks=weeks,
            checkpoints=checkpoints[:6],
            safety_note=" ".join(dict.fromkeys(safety)) or None,
        )


# --- Any litellm model ---------------------------------------------------------------------

PROMPTS = ("projects_system.j2", "projects.j2")


class LLMDesigner:
    """Proposals from a litellm model through prompts/projects*.j2, validated like the offline
    designer's. Raises ModelUnavailable when no model answers validly (the job is retried)."""

    def __init__(self, client, prompts_dir) -> None:
        self.client = client
        self.prompts_dir = prompts_dir
        self.name = client.models[0]
        self.prompt_hash = content_hash(prompts_dir, *PROMPTS)

    async def design(self, brief: Brief, *, grade: int, problems: list[str] | None = None):
        targets = []
        for t in brief.targets:
            rubric = brief.rubrics[t.competency_id]
            movement = {a.criterion_id: a.movement for a in t.aims}
            focus = [{"id": c.id, "title": c.title, "next": c.levels[aim_level(t, c.id, rubric)],
                      "now": movement.get(c.id, "")}
                     for c in (rubric.criterion(cid) for cid in t.criteria) if c is not None]
            others = [c.id for c in rubric.criteria if c.id not in t.criteria]
            targets.append({"competency_id": t.competency_id, "title": t.title, "reason": t.reason,
                            "focus": focus, "others": others})
        messages = [
            {"role": "system", "content": render(self.prompts_dir, "projects_system.j2")},
            {"role": "user", "content": render(
                self.prompts_dir, "projects.j2", grade=grade,
                interests=fenced("\n".join(brief.interests)),
                working=brief.working, weeks=brief.weeks, materials=brief.materials, targets=targets,
                instructions=brief.instructions or "", problems=problems or [])},
        ]
        answer = await self.client.structured(messages, ProposedProjects)
        return answer.value.proposals, answer.usage, answer.model


def designer_for(settings):
    if settings.model == "offline":
        return OfflineDesigner()

    client = ModelClient([settings.model, *settings.fallback_models], api_base=settings.model_api_base,
                         timeout_s=settings.model_timeout_s, retries=settings.model_retries,
                         max_tokens=settings.model_max_tokens)
    return LLMDesigner(client, settings.prompts_dir)


_designer: OfflineDesigner | None = None  # one per process (the pool's children build their own)


def design_offline(brief: Brief, count: int = 3) -> list[Proposal]:
    global _designer
    _designer = _designer or OfflineDesigner()
    return _designer.design(brief, count)
