"""The mastery report: its numbers are the record's; its PDF (WeasyPrint) renders to pages that
show the report (pypdfium2); a guardian gets their child's in their own language and nobody
else's; a class's teachers get every student's report in one PDF and the numbers as CSV."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from beacon.mastery import service as mastery
from beacon.mastery.report import report_of
from beacon.school import repository as school
from beacon.school import service as school_service
from beacon.school.auth import hash_password
from beacon.school.models import User
from tests.api_client import PASSWORD
from tests.mastery.progress_helpers import log, release
from tests.web.test_browser import ARTIFACTS

TODAY = date.today()


async def _teacher(runtime, people):
    async with runtime.db.transaction() as session:
        return (await school.user_by_email(session, people["teacher"])).id


async def _history(runtime, people):
    teacher = await _teacher(runtime, people)
    await release(runtime, teacher, people["alice_id"], levels={"claim": 3, "evidence": 2})
    await log(runtime, teacher, people["alice_id"], "oral-communication",
              {"audience": 2, "organization": 3, "delivery": 2}, TODAY - timedelta(days=40), note="Debate")
    await log(runtime, teacher, people["alice_id"], "oral-communication",
              {"audience": 3, "delivery": 3}, TODAY - timedelta(days=10), note="Exhibition night")
    return teacher


def _pages(pdf: bytes) -> list:
    """The PDF rendered to images, as a reader would see each page."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    return [document[i].render(scale=1).to_pil() for i in range(len(document))], [
        document[i].get_textpage().get_text_range() for i in range(len(document))]


def _ink(image) -> float:
    """The share of a page's pixels that are not white: a blank page has none."""
    histogram = image.convert("L").histogram()
    return sum(histogram[:200]) / sum(histogram)


async def _spanish_guardian(runtime, people) -> User:
    """Alice's guardian, who reads Spanish."""
    async with runtime.db.transaction() as session:
        alice = await session.get(User, people["alice_id"])
        guardian = User(school_id=alice.school_id, email=f"g-{uuid.uuid4().hex[:6]}@example.org", full_name="Gloria A",
                        role="guardian", password_hash=hash_password(PASSWORD), preferred_language="es")
        session.add(guardian)
        await session.flush()
        await school_service.ensure_guardianship(session, guardian, alice)
    return guardian


async def _sign_in(client, email):
    client.cookies.clear()
    assert (await client.post("/login", data={"email": email, "password": PASSWORD})).status_code == 303


async def test_the_reports_numbers_are_the_records(api, people, runtime):
    await _history(runtime, people)
    async with runtime.db.transaction() as session:
        alice = await session.get(User, people["alice_id"])
        report = await report_of(session, alice, runtime.settings, start=TODAY - timedelta(days=91), end=TODAY)
        record = (await mastery.records_of(session, [alice.id], runtime.settings))[alice.id]
    assert {s.progress.id for s in report.sections} == {"argument-writing", "oral-communication"}
    for s in report.sections:
        standing = record.competencies[s.progress.id].status
        assert (s.progress.status, s.progress.value, s.progress.evidence, s.progress.required, s.progress.threshold.number) == (
            standing.status, standing.value, standing.evidence, standing.required, standing.threshold)
    values = [(s.progress.status, s.progress.value) for s in report.sections]
    assert values == sorted(values, key=lambda v: ({"met": 0, "approaching": 1, "emerging": 2}[v[0]], -(v[1] or 0)))
    assert 1 <= len(report.highlights) <= 3 and all(h.quote for h in report.highlights)
    assert report.pieces == 3


async def test_the_pdf_is_the_report_on_paper(api, people, runtime):
    _, client = api
    await _history(runtime, people)
    await _sign_in(client, people["alice"])
    page = await client.get("/student/report")
    assert page.status_code == 200 and "Alice A's mastery report" in page.text and "Download as PDF" in page.text
    pdf = await client.get("/student/report.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"
    images, texts = _pages(pdf.content)
    assert 1 <= len(images) <= 2 and all(_ink(i) > 0.01 for i in images)
    text = " ".join(" ".join(t.split()) for t in texts)
    assert "Alice A's mastery report" in text and "Oral Communication" in text and "help at home" in text
    assert "Download as PDF" not in text  # the screen's links are not printed
    ARTIFACTS.mkdir(exist_ok=True)
    images[0].save(ARTIFACTS / "40-report-page-1.png")  # to look at
    for bad in ("?from=2026-13-01", "?from=2026-10-01&to=2026-09-01", "?from=2024-01-01&to=2026-01-01"):
        assert (await client.get("/student/report" + bad)).status_code == 422


async def test_a_guardian_gets_their_childs_report_in_their_language_and_no_other(api, people, runtime):
    _, client = api
    await _history(runtime, people)
    guardian = await _spanish_guardian(runtime, people)
    email = guardian.email
    await _sign_in(client, email)
    page = await client.get(f"/guardian/children/{people['alice_id']}/report")
    assert page.status_code == 200 and '<html lang="es">' in page.text and "Informe de dominio de Alice A" in page.text
    pdf = await client.get(f"/guardian/children/{people['alice_id']}/report.pdf")
    images, texts = _pages(pdf.content)
    assert "Informe de dominio de Alice A" in " ".join(" ".join(t.split()) for t in texts)
    for other in (people["bob_id"], uuid.uuid4()):
        assert (await client.get(f"/guardian/children/{other}/report")).status_code == 404
        assert (await client.get(f"/guardian/children/{other}/report.pdf")).status_code == 404
    assert (await client.get("/student/report")).status_code == 404


async def test_a_class_gets_every_report_in_one_pdf_and_a_csv(api, people, runtime):
    _, client = api
    teacher = await _history(runtime, people)
    await log(runtime, teacher, people["bob_id"], "oral-communication", {"audience": 1}, TODAY - timedelta(days=5))
    await _sign_in(client, people["teacher"])
    pdf = await client.get(f"/teacher/classes/{people['class_id']}/reports.pdf")
    assert pdf.status_code == 200
    images, texts = _pages(pdf.content)
    starts = [t for t in texts if "mastery report" in t]
    assert len(starts) == 2 and len(images) >= 2  # each student's report starts a page
    rows = (await client.get(f"/teacher/classes/{people['class_id']}/reports.csv")).text.splitlines()
    assert rows[0].startswith("student,competency,status,value") and len(rows) == 1 + 2 + 1
    await _sign_in(client, people["stranger"])
    for url in (f"/teacher/classes/{people['class_id']}/reports.pdf", f"/teacher/classes/{people['class_id']}/reports.csv"):
        assert (await client.get(url)).status_code == 404


async def test_publishing_a_class_s_reports_tells_each_student_and_family_once(api, people, runtime):
    from beacon.notifications import repository as notes

    _, client = api
    await _history(runtime, people)
    guardian = await _spanish_guardian(runtime, people)
    email = guardian.email
    await _sign_in(client, people["teacher"])
    page = await client.get(f"/teacher/mastery?class_id={people['class_id']}")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    url = f"/teacher/classes/{people['class_id']}/reports/publish"
    for _ in range(2):  # published twice: told once
        done = await client.post(url, data={"csrf": csrf, "from": "2026-09-01", "to": TODAY.isoformat()})
        assert done.status_code == 303
    async with runtime.db.transaction() as session:
        mine = [n for n in await notes.of_user(session, people["alice_id"]) if n.kind == "report_published"]
        family = [n for n in await notes.of_user(session, guardian.id) if n.kind == "report_published"]
        bobs = [n for n in await notes.of_user(session, people["bob_id"]) if n.kind == "report_published"]
    assert [n.link for n in mine] == [f"/student/report?from=2026-09-01&to={TODAY.isoformat()}"]
    assert [n.link for n in family] == [f"/guardian/children/{people['alice_id']}/report?from=2026-09-01&to={TODAY.isoformat()}"]
    assert family[0].subject == "El informe de progreso de Alice está listo"  # in the guardian's language
    assert len(bobs) == 1  # every student of the class hears of their own
    await _sign_in(client, email)
    assert (await client.get(family[0].link)).status_code == 200
    await _sign_in(client, people["stranger"])
    page = await client.get("/teacher/mastery")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0] if 'name="csrf"' in page.text else ""
    assert (await client.post(url, data={"csrf": csrf})).status_code == 404
