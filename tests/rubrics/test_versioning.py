"""Loading is idempotent and versioned: an edit makes a new version, old drafts keep theirs."""

from __future__ import annotations

import shutil

import yaml
from sqlalchemy import func, select

from beacon.approval.models import Draft
from beacon.rubrics import repository
from beacon.rubrics.library import read_library
from beacon.rubrics.models import PassageEmbedding, RubricVersion
from beacon.rubrics.service import match, reindex, sync_library
from tests.conftest import PROJECT
from tests.factories import make_class, make_draft


def _copy_library(tmp_path):
    folder = tmp_path / "lib"
    shutil.copytree(PROJECT / "rubrics", folder)
    return folder


def _edit(folder, competency, mutate):
    path = folder / f"{competency}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


async def _count(session, model):
    return await session.scalar(select(func.count()).select_from(model))


async def test_reloading_an_unchanged_library_changes_nothing(session, embedder):
    versions = await _count(session, RubricVersion)
    vectors = await _count(session, PassageEmbedding)
    report = await sync_library(session, read_library(PROJECT / "rubrics"), embedder)
    assert report.created == [] and report.retired == [] and report.embedded_passages == 0
    assert len(report.unchanged) == len(read_library(PROJECT / "rubrics").rubrics)
    assert (await _count(session, RubricVersion), await _count(session, PassageEmbedding)) == (versions, vectors)


async def test_an_edited_descriptor_makes_a_new_version_and_old_drafts_keep_theirs(session, embedder, tmp_path):
    _, _, _, [student] = await make_class(session)
    draft = await make_draft(session, student, competency="argument-writing")
    v1 = await repository.current_version(session, "argument-writing")
    old_descriptor = v1.definition["criteria"][0]["levels"]["3"]

    folder = _copy_library(tmp_path)
    _edit(folder, "argument-writing", lambda d: d["criteria"][0]["levels"].__setitem__(3, "Your claim is precise, arguable and held to the end."))
    report = await sync_library(session, read_library(folder), embedder)

    assert report.created == [f"argument-writing v{v1.version + 1}"]
    v2 = await repository.current_version(session, "argument-writing")
    assert v2.id != v1.id and v2.definition["criteria"][0]["levels"]["3"].startswith("Your claim is precise")
    await session.refresh(draft)
    kept = await session.get(RubricVersion, draft.rubric_version_id)
    assert kept.id == v1.id and kept.definition["criteria"][0]["levels"]["3"] == old_descriptor
    assert report.embedded_passages == len(v2.definition["criteria"]) + 1

    # Reverting the edit brings back the identical earlier version instead of a third one.
    report = await sync_library(session, read_library(PROJECT / "rubrics"), embedder)
    assert report.restored == [f"argument-writing v{v1.version}"]
    assert (await repository.current_version(session, "argument-writing")).id == v1.id
    assert await session.scalar(select(func.count()).select_from(Draft).where(Draft.id == draft.id)) == 1


async def test_a_removed_file_retires_its_competency_from_retrieval(session, embedder, tmp_path):
    folder = _copy_library(tmp_path)
    (folder / "performing-arts.yaml").unlink()
    report = await sync_library(session, read_library(folder), embedder)
    assert [r.split()[0] for r in report.retired] == ["performing-arts"]
    results = await match(session, "Our choir rehearsal: pitch, rhythm and stage presence in the concert.", embedder, limit=20)
    assert "performing-arts" not in {m.id for m in results}


async def test_reindex_rebuilds_vectors_for_the_model(session, embedder):
    before = await _count(session, PassageEmbedding)
    assert await reindex(session, embedder) == before
    assert await _count(session, PassageEmbedding) == before
