"""The library in other languages: ``rubrics/translations/<language>/<competency>.yaml`` carries a
rubric's student-facing text (titles, level labels, descriptors, look-fors, revision moves).

A translation is not part of a rubric version (a new wording in Spanish does not change what a
level means), so it is matched to the rubric it is used with: the same criterion ids and the
same number of look-fors, moves and levels, or it is not used and the text stays in English
(the draft says so)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from beacon.rubrics.schemas import RubricDefinition

Words = Annotated[str, StringConstraints(min_length=1, max_length=600, strip_whitespace=True)]


class CriterionText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Words
    description: Words
    look_fors: list[Words] = Field(max_length=12)
    revision_moves: list[Words] = Field(max_length=12)
    levels: dict[int, Words]


class RubricText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    competency: str
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]
    title: Words
    levels: dict[int, Words]
    criteria: dict[str, CriterionText]


def read_translations(directory: Path) -> tuple[dict[tuple[str, str], RubricText], list[str]]:
    """Every ``<language>/<competency>.yaml`` under ``directory``; problems as 'file: reason'."""
    found, problems = {}, []
    for path in sorted(directory.glob("*/*.yaml")) if directory.is_dir() else []:
        where = f"translations/{path.parent.name}/{path.name}"
        try:
            text = RubricText.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except ValidationError as exc:
            problems.extend(f"{where}: {'.'.join(map(str, e['loc'])) or '(file)'}: {e['msg']}" for e in exc.errors())
            continue
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            problems.append(f"{where}: {str(exc).splitlines()[0]}")
            continue
        if (text.competency, text.language) != (path.stem, path.parent.name):
            problems.append(f"{where}: says {text.competency}/{text.language}, the file is {path.parent.name}/{path.stem}")
            continue
        found[(text.competency, text.language)] = text
    return found, problems


def mismatches(rubric: RubricDefinition, text: RubricText) -> list[str]:
    """Why ``text`` cannot stand for ``rubric`` (empty: it can)."""
    problems = []
    if set(text.levels) != {lv.level for lv in rubric.levels}:
        problems.append("level labels do not match the rubric's levels")
    for criterion in rubric.criteria:
        other = text.criteria.get(criterion.id)
        if other is None:
            problems.append(f"criterion {criterion.id!r} is not translated")
            continue
        if len(other.look_fors) != len(criterion.look_fors) or len(other.revision_moves) != len(criterion.revision_moves):
            problems.append(f"criterion {criterion.id!r}: look-fors or revision moves differ in number")
        if set(other.levels) != set(criterion.levels):
            problems.append(f"criterion {criterion.id!r}: its levels differ")
    problems += [f"criterion {cid!r} is not in the rubric" for cid in set(text.criteria) - {c.id for c in rubric.criteria}]
    return problems


@lru_cache(maxsize=4)
def _library(directory: Path) -> dict[tuple[str, str], RubricText]:
    return read_translations(directory)[0]


def translated(rubric: RubricDefinition, language: str, directory: Path) -> RubricDefinition | None:
    """``rubric`` with its student-facing text in ``language``, or None if there is no
    translation that matches it."""
    text = _library(directory).get((rubric.id, language))
    if text is None or mismatches(rubric, text):
        return None
    data = rubric.model_dump()
    data["title"] = text.title
    for level in data["levels"]:
        level["label"] = text.levels[level["level"]]
    for criterion in data["criteria"]:
        other = text.criteria[criterion["id"]]
        criterion.update(title=other.title, description=other.description, look_fors=other.look_fors,
                         revision_moves=other.revision_moves, levels=dict(other.levels))
    return RubricDefinition.model_validate(data)
