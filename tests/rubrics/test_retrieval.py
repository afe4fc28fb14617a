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


async def test_picks_the_right_competency_across_every_subject_area(session, embedder):
    """The gate: every work's competency in the top 3, at least 90% first, and for every
    competency of the library at least one of its works ranked first."""
    first, top3, right_by_competency = 0, 0, {}
    misses = []
    for work in WORKS:
        text = (SUITE / work["file"]).read_text(encoding="utf-8")
        results = await match(session, text, embedder, limit=3)
        scores = [r.score for r in results]
        assert scores == sorted(scores, reverse=True)
        expected = work["expected_competency"]
        ranked = [r.id for r in results]
        first += ranked[0] == expected
        top3 += expected in ranked
        right_by_competency[expected] = right_by_competency.get(expected, False) or ranked[0] == expected
        if ranked[0] != expected:
            misses.append((work["file"], ranked))
    assert top3 == len(WORKS), misses
    assert first / len(WORKS) >= 0.9, misses
    assert all(right_by_competency.values()), misses


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

