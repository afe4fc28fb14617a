"""What a regeneration changed, as the review screen says it."""

from __future__ import annotations

from beacon.feedback.schemas import DraftContent
from beacon.review.service import compare_drafts


def _content(levels: dict[str, int], feedback: str, *, rubric: str = "argument-writing", language: str = "en"):
    labels = {1: "Beginning", 2: "Developing", 3: "Proficient", 4: "Extending"}
    return DraftContent.model_validate({
        "rubric_id": rubric, "rubric_version": 1, "question": "What next?", "feedback": feedback,
        "strengths": [], "next_steps": [], "language": language,
        "criteria": [{"criterion_id": cid, "title": cid.title(), "level": lv, "level_label": labels[lv],
                      "evidence": [], "rationale": "Because.", "confidence": 0.5} for cid, lv in levels.items()],
    })


def test_level_changes_are_listed_and_the_rest_counted():
    before = _content({"claim": 3, "evidence": 3, "reasoning": 2}, "Well done.")
    after = _content({"claim": 3, "evidence": 2, "reasoning": 2}, "Well done.")
    changed = compare_drafts(before, after)
    assert changed["levels"] == [{"title": "Evidence", "before": 3, "after": 2,
                                  "before_label": "Proficient", "after_label": "Developing"}]
    assert (changed["unchanged"], changed["feedback_changed"], changed["rubric_changed"]) == (2, False, False)


def test_another_rubric_or_language_is_said_without_comparing_levels():
    before = _content({"claim": 3}, "Well done.")
    after = _content({"hypothesis": 1}, "Bien hecho.", rubric="scientific-investigation", language="es")
    changed = compare_drafts(before, after)
    assert changed["rubric_changed"] and changed["levels"] == []
    assert changed["feedback_changed"] and changed["language_changed"] and changed["language"] == "es"
