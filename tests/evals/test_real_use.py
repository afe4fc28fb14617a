"""Agreement from real use: drafted levels against the levels teachers approved."""

from __future__ import annotations

from beacon.evals import repository, service
from tests.factories import decide, make_class, make_draft, release


def _content(competency: str, levels: dict[str, int]) -> dict:
    return {"rubric_id": competency, "feedback": "Draft text",
            "criteria": [{"criterion_id": c, "level": lv} for c, lv in levels.items()]}


async def test_agreement_counts_kept_changed_and_refused_levels(session):
    sch, _, teacher, (ana, ben) = await make_class(session, students=2)
    _, _, other_teacher, (outsider,) = await make_class(session)

    kept = await make_draft(session, ana)
    kept.content = _content("argument-writing", {"claim": 3, "evidence": 2})
    changed = await make_draft(session, ben)
    changed.content = _content("argument-writing", {"claim": 1, "evidence": 4})
    refused = await make_draft(session, ana, competency="scientific-investigation")
    refused.content = _content("scientific-investigation", {"question": 2})
    elsewhere = await make_draft(session, outsider)
    await session.flush()

    await release(session, kept, await decide(session, kept, teacher, "approve"))
    edit = _content("argument-writing", {"claim": 2, "evidence": 2})
    approval = await decide(session, changed, teacher, "approve", edited_content=edit)
    await release(session, changed, approval, content=edit)
    await decide(session, refused, teacher, "reject", reason="talk first")
    await release(session, elsewhere, await decide(session, elsewhere, other_teacher, "approve"))
    await session.flush()

    decided = await repository.decisions_in_school(session, sch.id)
    assert {d.draft.id for d in decided} == {kept.id, changed.id, refused.id}  # not another school's
    use = service.real_use(decided)
    assert (use.overall.decisions, use.overall.approved, use.overall.edited, use.overall.rejected) == (3, 2, 1, 1)
    # 4 criteria judged on approvals: claim 3→3, evidence 2→2, claim 1→2, evidence 4→2.
    assert (use.overall.criteria, use.overall.exact, use.overall.adjacent) == (4, 2, 3)
    assert use.by_competency["argument-writing"].exact_rate == 0.5
    assert use.by_competency["scientific-investigation"].criteria == 0
    assert use.by_competency["scientific-investigation"].exact_rate is None
    assert use.by_teacher["Tess Teacher"].edit_rate == 0.5
    claim = use.by_criterion["argument-writing/claim"]
    assert (claim.criteria, claim.exact, claim.edited) == (2, 1, 1)  # kept 3→3, changed 1→2
    [with_changes] = [d for d in decided if d.draft.id == changed.id]
    assert service.changed_levels(with_changes) == [("claim", 1, 2), ("evidence", 4, 2)]


async def test_bulk_approvals_are_counted_apart_and_never_as_agreement(session):
    sch, _, teacher, (ana, ben) = await make_class(session, students=2)
    looked = await make_draft(session, ana)
    looked.content = _content("argument-writing", {"claim": 3})
    unread = await make_draft(session, ben)
    unread.content = _content("argument-writing", {"claim": 1})
    await session.flush()
    await release(session, looked, await decide(session, looked, teacher, "approve"))
    await release(session, unread, await decide(session, unread, teacher, "approve", bulk=True))
    await session.flush()

    use = service.real_use(await repository.decisions_in_school(session, sch.id))
    assert (use.overall.decisions, use.overall.approved, use.overall.bulk_approved) == (2, 1, 1)
    assert (use.overall.criteria, use.overall.exact) == (1, 1)  # only the draft a teacher opened
    assert use.overall.few and use.overall.as_dict()["few"]  # one criterion judged: said so
