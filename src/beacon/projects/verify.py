"""Checks on proposed projects, from any model: cited competencies and criteria exist at the
version used; proposals differ; each ties to an interest the student stated; unsafe or costly
activities are dropped. What cannot be fixed is flagged for the teacher, never hidden."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from beacon.llm.lexicon import terms
from beacon.projects.schemas import Proposal
from beacon.rubrics.schemas import RubricDefinition

# Activities a school project must not ask of a student. Matched on word starts, so "fireworks"
# and "firearm" are caught but "firefighter" in a career interview is not (listed exceptions).
UNSAFE = re.compile(
    r"\b(fire ?works?|firearms?|guns?|ammunition|explosives?|detonat\w*|gunpowder|rocket fuel|"
    r"set (?:it|things|a fire) on fire|open flames?|bonfire|gasoline|petrol|bleach and ammonia|"
    r"mix(?:ing)? (?:household )?chemicals|chlorine gas|hydrochloric|sulfuric|lye|"
    r"knives?|machetes?|chainsaws?|power saws?|"
    r"climb\w* (?:on(?:to)? )?(?:a |the )?roof(?:top)?s?|train tracks|railway tracks|highways?|in traffic|jump(?:ing)? off|"
    r"meet (?:strangers|people) (?:you met )?online|share your (?:home )?address|"
    r"alcohol|vap(?:e|ing)|cigarettes?|drugs?|"
    r"hitchhik\w*|trespass\w*|without (?:an adult|supervision|permission))\b",
    re.I,
)
SAFE_CONTEXT = re.compile(r"\b(no|never|not|without any|avoid|away from|instead of)\b[^.;]{0,60}$", re.I)
COSTLY = re.compile(r"(?:\$|€|£)\s?(\d[\d,]*)", re.I)
MAX_COST = 50  # any single cost above this (in dollars, euros or pounds) is out of reach for many
SIMILAR = 0.6  # Jaccard of the plans' terms above which two proposals are "the same"


@dataclass
class ProjectCheck:
    proposals: list[Proposal]
    flags: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def needs_repair(self) -> bool:
        return bool(self.problems)


def unsafe_phrases(text: str) -> list[str]:
    """Unsafe activities a text asks for; mentions in a "no ..."/"never ..." clause are advice."""
    found = []
    for hit in UNSAFE.finditer(text):
        if not SAFE_CONTEXT.search(text[max(0, hit.start() - 80):hit.start()]):
            found.append(hit.group(0).lower())
    for hit in COSTLY.finditer(text):
        if int(hit.group(1).replace(",", "")) > MAX_COST:
            found.append(hit.group(0))
    return found


def _proposal_text(p: Proposal) -> str:
    """What a proposal asks the student to do (its safety note is advice, so it is left out)."""
    parts = [p.title, p.driving_question, p.final_product, p.audience, *p.scaffolds, *p.resources,
             *(m.title + ". " + m.evidence for m in p.milestones)]
    return "\n".join(parts)


def ties_to_interest(p: Proposal, interests: list[str]) -> bool:
    said = {t for i in interests for t in terms(i)}
    return bool(said & set(terms(f"{p.title} {p.driving_question} {p.why_it_fits}")))


def _similarity(a: Proposal, b: Proposal) -> float:
    """Jaccard of what the student would do: title, question, milestones and product."""
    def plan(p: Proposal) -> set[str]:
        return set(terms(" ".join([p.title, p.driving_question, p.final_product,
                                   *(f"{m.title} {m.evidence}" for m in p.milestones)])))

    ta, tb = plan(a), plan(b)
    return len(ta & tb) / len(ta | tb) if ta | tb else 1.0


def check_projects(proposals: list[Proposal], *, interests: list[str],
                   rubrics: dict[str, RubricDefinition], versions: dict[str, int]) -> ProjectCheck:
    result = ProjectCheck([])
    for index, proposal in enumerate(proposals, start=1):
        name = proposal.title[:60]
        danger = unsafe_phrases(_proposal_text(proposal))
        if danger:
            result.flags.append(f"unsafe_dropped:{name}")
            result.problems.append(f"proposal {index} asks for something unsafe or costly ({', '.join(danger)}): replace it")
            continue
        kept = []
        for target in proposal.competencies:
            rubric = rubrics.get(target.competency_id)
            if rubric is None:
                result.flags.append(f"invented_competency:{target.competency_id}")
                result.problems.append(f"proposal {index}: competency {target.competency_id!r} does not exist; use only the listed ids")
                continue
            real = [c for c in target.criteria if rubric.criterion(c) is not None]
            for invented in sorted(set(target.criteria) - set(real)):
                result.flags.append(f"invented_criterion:{target.competency_id}/{invented}")
                result.problems.append(f"proposal {index}: {target.competency_id} has no criterion {invented!r}")
            if real:
                kept.append(target.model_copy(update={"criteria": real, "title": rubric.title,
                                                      "rubric_version": versions[target.competency_id]}))
        if not kept:
            result.flags.append(f"no_real_competency:{name}")
            continue
        for milestone in proposal.milestones:
            milestone.criteria = [r for r in milestone.criteria
                                  if r.competency_id in rubrics and rubrics[r.competency_id].criterion(r.criterion_id)]
        if not any(m.criteria for m in proposal.milestones):
            result.flags.append(f"milestones_without_criteria:{name}")
            result.problems.append(f"proposal {index}: say which rubric criteria each milestone will be judged on")
        proposal = proposal.model_copy(update={"competencies": kept})
        if interests and not ties_to_interest(proposal, interests):
            result.flags.append(f"interest_ignored:{name}")
            result.problems.append(f"proposal {index} does not build on any interest the student stated")
        if any(_similarity(proposal, other) > SIMILAR or proposal.product_kind == other.product_kind
               for other in result.proposals):
            result.flags.append(f"too_similar:{name}")
            result.problems.append(f"proposal {index} is too close to an earlier one: make a different kind of product")
            continue
        result.proposals.append(proposal)
    if len(result.proposals) < 3:
        result.flags.append("fewer_than_three")
    return result
