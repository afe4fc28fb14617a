"""The library in Spanish: every rubric translated and matched to its criteria, and the offline
model's feedback for a Spanish-speaking student written from the Spanish text."""

from __future__ import annotations

import yaml

from beacon.feedback.drafters import DraftingContext, OfflineModel, in_language
from beacon.rubrics.library import read_library
from beacon.rubrics.translations import mismatches, read_translations, translated
from tests.conftest import PROJECT

LIBRARY = PROJECT / "rubrics"
TEXTS, PROBLEMS = read_translations(LIBRARY / "translations")
RUBRICS = {r.id: r for _, r in read_library(LIBRARY).rubrics}


def test_every_rubric_has_a_spanish_text_that_matches_it():
    assert PROBLEMS == []
    assert {cid for cid, lang in TEXTS if lang == "es"} == set(RUBRICS)
    for (cid, _), text in TEXTS.items():
        assert mismatches(RUBRICS[cid], text) == [], cid


def test_a_translation_replaces_the_student_facing_words_and_keeps_the_ids():
    rubric = RUBRICS["argument-writing"]
    spanish = translated(rubric, "es", LIBRARY / "translations")
    assert spanish is not None and spanish.id == rubric.id
    assert [c.id for c in spanish.criteria] == [c.id for c in rubric.criteria]
    assert spanish.criteria[0].levels[3] != rubric.criteria[0].levels[3]
    assert translated(rubric, "fr", LIBRARY / "translations") is None  # none: the caller keeps English


def test_a_translation_that_no_longer_fits_its_rubric_is_not_used(tmp_path):
    rubric = RUBRICS["argument-writing"]
    text = yaml.safe_load((LIBRARY / "translations" / "es" / "argument-writing.yaml").read_text(encoding="utf-8"))
    text["criteria"].pop(rubric.criteria[-1].id)  # the rubric gained a criterion the text lacks
    (tmp_path / "es").mkdir()
    (tmp_path / "es" / "argument-writing.yaml").write_text(yaml.safe_dump(text, allow_unicode=True), encoding="utf-8")
    assert translated(rubric, "es", tmp_path) is None


async def test_the_offline_model_writes_to_a_spanish_speaking_student_in_spanish():
    rubric = RUBRICS["argument-writing"]
    work = ("I think our school should plant more trees. First, trees give shade, because the yard is hot. "
            "Some people say trees cost too much. However, a tree costs less than a new roof over the yard.")
    ctx = DraftingContext(work=work, rubric=rubric, grade=7, language="es")
    model = OfflineModel()
    assessment, _, _ = await model.assess(ctx)
    feedback, _, _ = await model.write(ctx, assessment)
    spanish = in_language(rubric, "es")
    said = " ".join([*feedback.strengths, *feedback.next_steps, feedback.question])
    descriptors = {d for c in spanish.criteria for d in c.levels.values()} | {m for c in spanish.criteria for m in c.revision_moves}
    assert any(d[:40].lower() in said.lower() for d in descriptors), said
    english = {d for c in rubric.criteria for d in c.levels.values()}
    assert not any(d[:40] in said for d in english), said
