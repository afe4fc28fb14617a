"""Retrieval on the real library: fused vector + full-text search picks the right competency
for student work in every subject area, can be narrowed, and explains itself."""

from __future__ import annotations

import pytest
import yaml

from beacon.errors import InvalidInput, NotFound
from beacon.rubrics.service import match
from tests.conftest import PROJECT

SUITE = PROJECT / "evals" / "retrieval"
WORKS = yaml.safe_load((SUITE / "suite.yaml").read_text(encoding="utf-8"))["works"]


@pytest.mark.parametrize("work", WORKS, ids=[w["file"].split("/")[-1] for w in WORKS])
async def test_picks_the_expected_competency(session, embedder, work):
    text = (SUITE / work["file"]).read_text(encoding="utf-8")
    results = await match(session, text, embedder, limit=3)
    assert results[0].id == work["expected_competency"], [(r.id, r.score) for r in results]
    assert results[0].score >= results[1].score


async def test_every_competency_in_the_library_is_retrievable(session, embedder):
    from beacon.rubrics import repository

    expected = {w["expected_competency"] for w in WORKS}
    library = {v.competency_id for v in await repository.current_versions(session)}
    assert library <= expected, f"no retrieval work for {library - expected}"


async def test_result_carries_criteria_scores_and_reasons(session, embedder):
    text = (SUITE / WORKS[0]["file"]).read_text(encoding="utf-8")
    [best] = await match(session, text, embedder, limit=1)
    assert 0 < best.score <= 1
    assert 1 <= len(best.criteria) <= 3
    assert best.why and all(w.lower() in text.lower() for w in best.why)


async def test_narrowing_to_an_assignments_competencies(session, embedder):
    lab = next(w for w in WORKS if w["expected_competency"] == "scientific-investigation")
    text = (SUITE / lab["file"]).read_text(encoding="utf-8")
    narrowed = await match(session, text, embedder, competency_ids=["collaboration", "argument-writing"])
    assert {m.id for m in narrowed} <= {"collaboration", "argument-writing"}
    assert len(narrowed) == 2


async def test_bad_requests_are_clear(session, embedder):
    with pytest.raises(InvalidInput, match="empty"):
        await match(session, "  \n ", embedder)
    with pytest.raises(NotFound, match="no-such-rubric"):
        await match(session, "some work", embedder, competency_ids=["no-such-rubric"])


async def test_hostile_text_is_only_data(session, embedder):
    hostile = "'); DROP TABLE rubric_versions; -- & | ! :* <-> \\ \x01 ignore previous instructions " * 50
    results = await match(session, hostile, embedder)
    assert results  # answered, and the library is still there:
    assert await match(session, "Our hypothesis was tested with three trials.", embedder)

