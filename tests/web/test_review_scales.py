"""The review screen and the decision API on rubrics of other scales than four levels: the screen
offers every level of the draft's rubric, and a teacher's level is held to that rubric (any other
is a 422 and nothing is released), with the rubric's own label."""

from __future__ import annotations

import re
import uuid


from beacon.approval.models import Draft
from beacon.feedback.offline import OfflineDrafter
from beacon.feedback.service import submit
from beacon.feedback.verify import verify
from beacon.rubrics import repository as rubrics
from beacon.rubrics.library import content_hash
from beacon.rubrics.service import _add_version
from tests.api_client import PASSWORD
from tests.api_client import sign_in as _sign_in
from tests.api_client import wait_for_queue as _wait_for_queue
from tests.classroom import ESSAY
from tests.feedback.test_scales import STRONG
from tests.fixtures.rubrics import CONTINUUM, rubric

CONT = rubric(CONTINUUM)


async def _store(runtime, definition) -> int:
    """A version of a test-only rubric, stored as the library stores one but never made current,
    so no other test's retrieval or rubric list sees it."""
    async with runtime.db.transaction() as session:
        await rubrics.upsert_competency(session, definition.id, definition.title, definition.subject)
        digest = content_hash(definition)
        version = await rubrics.version_with_hash(session, definition.id, digest)
        return (version or await _add_version(session, definition, digest, f"{definition.id}.yaml")).id


async def _draft_on(runtime, version_id: int, student_id: uuid.UUID) -> uuid.UUID:
    """A pending draft of the continuum, written by the offline model as the workflow writes one."""
    drafter = OfflineDrafter()
    assessment = drafter.assess(STRONG, CONT, 8)
    feedback = drafter.write(CONT, assessment, grade=8, work=STRONG)
    content = verify(work=STRONG, rubric=CONT, rubric_version=1, assessment=assessment, feedback=feedback,
                     language="en", injections=[]).content
    async with runtime.db.transaction() as session:
        work = await submit(session, student_id=student_id, title="Robotics team", body=STRONG)
        draft = Draft(kind="feedback", student_id=student_id, submission_id=work.id, rubric_version_id=version_id,
                      content=content.model_dump(mode="json"), flags=["offline_model"], model="offline",
                      prompt_hash="0" * 64)
        session.add(draft)
    return draft.id


async def _screen(client, draft_id) -> tuple[str, dict]:
    page = await client.get(f"/teacher/drafts/{draft_id}")
    assert page.status_code == 200, page.text[:500]
    hidden = dict(re.findall(r'name="(csrf|content_hash)" value="([^"]+)"', page.text))
    return page.text, hidden


async def test_the_review_screen_offers_all_12_levels_and_takes_level_11_but_not_13(api, people, runtime):
    version_id = await _store(runtime, CONT)
    _, client = api
    first = await _draft_on(runtime, version_id, people["alice_id"])
    second = await _draft_on(runtime, version_id, people["alice_id"])
    await client.post("/login", data={"email": people["teacher"], "password": PASSWORD})

    text, hidden = await _screen(client, first)
    for criterion in CONT.criteria:
        offered = re.findall(rf'name="level:{criterion.id}" value="(\d+)"', text)
        assert offered == [str(n) for n in range(1, 13)]
    assert "Transforming" in text and "Leading" in text
    # Each level's number beside its label: on 12 steps the labels alone do not say where one stands.
    assert '<span class="n">11</span> Leading</label>' in text
    done = await client.post(f"/teacher/drafts/{first}/decision",
                             data={**hidden, "action": "approve", "level:contribution": "11"})
    assert done.status_code == 303, done.text

    text, hidden = await _screen(client, second)
    refused = await client.post(f"/teacher/drafts/{second}/decision",
                                data={**hidden, "action": "approve", "level:contribution": "13"})
    assert refused.status_code == 422 and "levels are 1 to 12" in refused.text
    client.cookies.clear()

    alice = await _sign_in(client, people["alice"])
    [release] = (await client.get("/api/v1/releases", headers=alice)).json()  # the second is not released
    contribution = next(c for c in release["content"]["criteria"] if c["criterion_id"] == "contribution")
    assert (contribution["level"], contribution["level_label"]) == (11, "Leading")  # the rubric's label for 11


async def test_an_api_edit_is_held_to_the_drafts_own_four_levels(api, people):
    _, client = api
    alice, teacher = await _sign_in(client, people["alice"]), await _sign_in(client, people["teacher"])
    await client.post("/api/v1/submissions", headers=alice, json={"title": "Wind", "body": ESSAY})
    [draft] = await _wait_for_queue(client, teacher)
    url = f"/api/v1/drafts/{draft['id']}/decision"
    edit = draft["content"]
    edit["criteria"][0]["level"] = 7  # a level some rubric has (up to 12), not this one
    refused = await client.post(url, headers=teacher, json={"action": "approve", "edited_content": edit})
    assert refused.status_code == 422 and "its levels are 1 to 4" in refused.text
    assert (await client.get("/api/v1/releases", headers=alice)).json() == []

    edit["criteria"][0].update(level=4, level_label="whatever the client said")
    done = await client.post(url, headers=teacher, json={"action": "approve", "edited_content": edit})
    assert done.status_code == 200, done.text
    [release] = (await client.get("/api/v1/releases", headers=alice)).json()
    assert release["content"]["criteria"][0]["level"] == 4
    assert release["content"]["criteria"][0]["level_label"] == "Extending"  # the rubric's, not the client's
