"""Needs support: each concern on hand-made histories, its cause (what a dismissal is tied to),
and, over the whole calculation, that a rating never changes anyone else's record."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from types import SimpleNamespace

from hypothesis import given, settings as hsettings
from hypothesis import strategies as st

from beacon.mastery.calculation import Method, Point
from beacon.mastery.service import _calculate, _Moment, _records
from beacon.mastery.support import Thresholds, on_competency, on_student

TODAY = date(2026, 11, 30)
LABELS = {1: "Beginning", 2: "Developing", 3: "Proficient", 4: "Advanced"}


def _series(*levels, start=date(2026, 9, 1), every=14, name="c"):
    return [Point(start + timedelta(days=every * i), lv, f"{name}{i}") for i, lv in enumerate(levels)]


def _concerns(ratings, **kw):
    return on_competency(ratings, competency_id="argument-writing", titles={"claim": "Claim", "evidence": "Evidence"},
                         labels=LABELS, threshold=3, method=Method("decaying_average"), today=TODAY,
                         limits=Thresholds(), **kw)


def _kinds(concerns):
    return sorted(c.kind for c in concerns)


def test_stuck_after_three_attempts_below_the_threshold_not_before():
    assert _kinds(_concerns({"claim": _series(2, 2)})) == []
    [stuck] = _concerns({"claim": _series(2, 2, 2)})
    assert stuck.kind == "stuck" and stuck.reason.startswith("3 attempts at Claim, still below Proficient")
    assert stuck.cause == "claim:3" and stuck.evidence == ["c0", "c1", "c2"]
    assert _kinds(_concerns({"claim": _series(2, 3, 4)})) == []  # it rose to the threshold


def test_a_drop_of_a_level_names_the_two_ratings():
    [drop] = [c for c in _concerns({"claim": _series(3, 2)}) if c.kind == "drop"]
    assert drop.evidence == ["c0", "c1"] and drop.cause == "c1" and "from 3 to 2" in drop.reason
    assert _kinds(_concerns({"claim": _series(3, 3)})) == []


def test_no_rise_over_the_last_four_ratings_below_the_threshold():
    flat = [c for c in _concerns({"claim": _series(1, 2, 2, 2, 2)}) if c.kind == "flat"]
    assert len(flat) == 1 and flat[0].evidence == ["c1", "c2", "c3", "c4"]
    assert not [c for c in _concerns({"claim": _series(2, 2, 2, 3)}) if c.kind == "flat"]
    assert not [c for c in _concerns({"evidence": _series(3, 3, 3, 3)}) if c.kind == "flat"]  # met: flat is fine


def test_quiet_only_while_the_class_has_recent_evidence():
    old = {"claim": _series(3, start=date(2026, 9, 1))}
    assert _kinds(_concerns(old, class_latest=date(2026, 11, 20))) == ["quiet"]
    assert _kinds(_concerns(old, class_latest=date(2026, 9, 2))) == []  # nobody has worked on it since
    assert _kinds(_concerns(old)) == []  # no class to compare with


def test_returned_work_not_revised_only_when_it_is_the_latest_evidence_and_below():
    low = {"claim": _series(2)}
    [waiting] = _concerns(low, waiting={"c0": "release-1"})
    assert waiting.kind == "not_revised" and waiting.cause == "release-1"
    assert _kinds(_concerns({"claim": _series(3)}, waiting={"c0": "release-1"})) == []
    later = {"claim": _series(2), "evidence": _series(3, start=date(2026, 10, 1), name="e")}
    assert _kinds(_concerns(later, waiting={"c0": "release-1"})) == []


def test_a_pattern_of_flagged_drafts():
    drafts = [("d1", date(2026, 11, 1)), ("d2", date(2026, 11, 8))]
    assert on_student(drafts, limits=Thresholds()) == []
    [flag] = on_student([*drafts, ("d3", date(2026, 11, 15))], limits=Thresholds())
    assert flag.kind == "flagged" and flag.cause == "d3" and flag.evidence == ["d1", "d2", "d3"]


DEFINITION = {"title": "Argument Writing", "mastery_threshold": 3, "evidence_required": 2,
              "levels": [{"level": n, "label": LABELS[n]} for n in range(1, 5)],
              "criteria": [{"id": c, "title": c.title()} for c in ("claim", "evidence", "reasoning")]}
SETTINGS = SimpleNamespace(mastery_method="decaying_average", mastery_decay_weight=0.65, mastery_missed="apart",
                           support_attempts=3, support_quiet_weeks=6, support_flat_ratings=4,
                           support_revise_days=14, support_flagged_drafts=3)
STUDENTS = [uuid.UUID(int=i) for i in range(1, 4)]
rating = st.builds(
    lambda sid, crit, level, day, source: SimpleNamespace(
        id=str(uuid.uuid4()), student_id=sid, competency_id="argument-writing", criterion_id=crit, level=level,
        work_date=date(2026, 9, 1) + timedelta(days=day), source=source, release_id=None),
    st.sampled_from(STUDENTS), st.sampled_from(["claim", "evidence", "reasoning"]), st.integers(1, 4),
    st.integers(0, 80), st.sampled_from(["draft", "teacher", "teacher", "override", "missed", "baseline"]))


def _records_of(rows):
    """The whole calculation as the service runs it: ratings → stored standings (through JSON,
    as the database keeps them) → records."""
    definitions = {"argument-writing": DEFINITION}
    pairs = {(r.student_id, r.competency_id) for r in rows}
    stored = _calculate(rows, pairs, definitions, SETTINGS, None, TODAY)
    standings = [{"student_id": sid, "competency_id": cid, **json.loads(json.dumps(values, default=str)),
                  "last_work": values["last_work"]} for (sid, cid), values in stored.items()]
    return _records(standings, definitions, STUDENTS, _Moment(set(), {}, set()), SETTINGS, TODAY)


@hsettings(max_examples=60, deadline=None)
@given(st.lists(rating, max_size=30), rating)
def test_a_rating_never_changes_anyone_elses_record(rows, extra):
    before, after = _records_of(rows), _records_of([*rows, extra])
    for sid in STUDENTS:
        if sid == extra.student_id:
            continue
        mine = {c: s.as_json() for c, s in before[sid].competencies.items()}
        theirs = {c: s.as_json() for c, s in after[sid].competencies.items()}
        # "quiet" compares with classmates by design; everything else is the student's own.
        for record in (mine, theirs):
            for standing in record.values():
                standing["support"] = [c for c in standing["support"] if c["kind"] != "quiet"]
        assert mine == theirs
