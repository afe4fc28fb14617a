"""The rubric files: the real library validates; every kind of broken file is reported with
file, field and reason, and a library with any problem loads nothing."""

from __future__ import annotations

import shutil

import pytest
import yaml

from beacon.errors import InvalidInput
from beacon.rubrics.library import read_library, read_rubric_file
from beacon.rubrics.schemas import SUBJECTS
from beacon.rubrics.service import sync_library
from tests.conftest import PROJECT

LIBRARY = PROJECT / "rubrics"


def test_the_shipped_library_is_valid_and_covers_every_subject_area():
    library = read_library(LIBRARY)
    assert library.problems == []
    rubrics = [r for _, r in library.rubrics]
    assert len(rubrics) >= 12
    assert {r.subject for r in rubrics} == set(SUBJECTS)
    for rubric in rubrics:
        assert 3 <= len(rubric.criteria) <= 6
        assert [lv.level for lv in rubric.levels] == [1, 2, 3, 4]


def _write(tmp_path, name: str, data) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


@pytest.fixture
def good() -> dict:
    return yaml.safe_load((LIBRARY / "argument-writing.yaml").read_text(encoding="utf-8"))


def _problems(path):
    return [(p.field, p.reason) for p in read_rubric_file(__import__("pathlib").Path(path))[1]]


def test_malformed_yaml_names_the_line(tmp_path):
    path = _write(tmp_path, "argument-writing.yaml", "id: argument-writing\ntitle: [unclosed\n")
    [(field, reason)] = _problems(path)
    assert field.startswith("line ") and "malformed YAML" in reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [("", "is empty"), ("   \n", "is empty"), ("- just\n- a list\n", "must be a YAML mapping")],
)
def test_empty_or_wrong_shape(tmp_path, content, reason):
    [(_, got)] = _problems(_write(tmp_path, "argument-writing.yaml", content))
    assert reason in got


def test_binary_file(tmp_path):
    path = tmp_path / "argument-writing.yaml"
    path.write_bytes(b"\x00\x01\x02PK\x03\x04")
    assert _problems(path) == [("(file)", "is binary, not YAML text")]


def test_field_level_problems(tmp_path, good):
    broken = dict(good)
    broken["mastery_threshold"] = 9
    broken["subject"] = "Astrology"
    criteria = [dict(c) for c in good["criteria"]]
    criteria[1] = {**criteria[1], "levels": {1: "a", 2: "b", 3: "c"}}
    criteria[2] = {**criteria[2], "id": criteria[0]["id"]}
    broken["criteria"] = criteria
    problems = dict(_problems(_write(tmp_path, "argument-writing.yaml", broken)))
    assert "above the top level (4)" in problems["mastery_threshold"]
    assert "must be one of" in problems["subject"]
    # Three descriptors make a scale of their own: not the rubric's four levels.
    assert f"{criteria[1]['id']!r} has levels 1 to 3" in problems["criteria"]


def test_duplicate_criterion_and_mismatched_id(tmp_path, good):
    dup = dict(good, criteria=[good["criteria"][0], good["criteria"][0], good["criteria"][1]])
    [(field, reason)] = _problems(_write(tmp_path, "argument-writing.yaml", dup))
    assert "used twice" in reason
    [(field, reason)] = _problems(_write(tmp_path, "other-name.yaml", good))
    assert field == "id" and "other-name" in reason


def test_unknown_field_is_rejected(tmp_path, good):
    problems = _problems(_write(tmp_path, "argument-writing.yaml", dict(good, colour="blue")))
    assert ("colour", "Extra inputs are not permitted") in problems


async def test_one_bad_file_means_nothing_is_loaded(session, embedder, tmp_path, good):
    from beacon.rubrics import repository

    folder = tmp_path / "lib"
    shutil.copytree(LIBRARY, folder)
    changed = dict(good, title="Argument Writing (changed)")
    _write(folder, "argument-writing.yaml", changed)
    _write(folder, "zz-broken.yaml", "id: zz-broken\ncriteria: [\n")
    before = await repository.current_version(session, "argument-writing")
    with pytest.raises(InvalidInput, match="problem"):
        await sync_library(session, read_library(folder), embedder)
    after = await repository.current_version(session, "argument-writing")
    assert (after.id, after.title) == (before.id, before.title)
