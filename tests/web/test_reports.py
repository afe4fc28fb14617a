"""The mastery report: its numbers are the record's; its PDF (WeasyPrint) renders to pages that
show the report (pypdfium2); a guardian gets their child's in their own language and nobody
else's; a class's teachers get every student's report in one PDF and the numbers as CSV."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import text as sa_text

from beacon.db.audit import audit_trail
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
    # The links open each one's frozen report (published twice: one row, the same id).
    async with runtime.db.transaction() as session:
        [frozen] = (await session.execute(sa_text("SELECT id FROM published_reports WHERE student_id = :s"),
                                          {"s": people["alice_id"]})).scalars().all()
    assert [n.link for n in mine] == [f"/student/reports/{frozen}"]
    assert [n.link for n in family] == [f"/guardian/children/{people['alice_id']}/reports/{frozen}"]
    assert family[0].subject == "El informe de progreso de Alice está listo"  # in the guardian's language
    assert len(bobs) == 1  # every student of the class hears of their own
    await _sign_in(client, email)
    assert (await client.get(family[0].link)).status_code == 200
    await _sign_in(client, people["stranger"])
    page = await client.get("/teacher/mastery")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0] if 'name="csrf"' in page.text else ""
    assert (await client.post(url, data={"csrf": csrf})).status_code == 404


def _table(page: str) -> str:
    """The report's numbers: its table of competencies."""
    return page.partition("<tbody>")[2].partition("</tbody>")[0]


async def _publish(client, people, start="2026-09-01"):
    await _sign_in(client, people["teacher"])
    page = await client.get(f"/teacher/mastery?class_id={people['class_id']}")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    done = await client.post(f"/teacher/classes/{people['class_id']}/reports/publish",
                             data={"csrf": csrf, "from": start, "to": TODAY.isoformat()})
    assert done.status_code == 303, done.text


async def test_a_published_report_keeps_its_numbers_until_it_is_published_again(api, people, runtime):
    _, client = api
    teacher = await _history(runtime, people)
    guardian = await _spanish_guardian(runtime, people)
    await _publish(client, people)
    async with runtime.db.transaction() as session:
        rows = (await session.execute(sa_text(
            "SELECT id, published_at, data FROM published_reports WHERE class_id = :c ORDER BY student_id"),
            {"c": people["class_id"]})).all()
        alices = (await session.execute(sa_text("SELECT id, published_at, data FROM published_reports WHERE student_id = :s"),
                                        {"s": people["alice_id"]})).one()
        bobs = (await session.execute(sa_text("SELECT id FROM published_reports WHERE student_id = :s"),
                                      {"s": people["bob_id"]})).scalar()
    assert len(rows) >= 2 and set(alices.data["languages"]) == {"en", "es"}  # Alice's language and her guardian's
    frozen_id, first_at = alices.id, alices.published_at

    # Alice's report page lists it; opened, it is labelled with its day and has the record's numbers of then.
    await _sign_in(client, people["alice"])
    live = await client.get("/student/report")
    assert f'href="/student/reports/{frozen_id}"' in live.text and "Published reports" in live.text
    frozen = await client.get(f"/student/reports/{frozen_id}")
    assert frozen.status_code == 200 and "Published " in frozen.text and "later work is not in it" in frozen.text
    before = _table(frozen.text)
    assert before == _table((await client.get(f"/student/report?from=2026-09-01&to={TODAY.isoformat()}")).text)

    # A new rating moves the live report, never the published one.
    await log(runtime, teacher, people["alice_id"], "oral-communication",
              {"audience": 4, "organization": 4, "delivery": 4}, TODAY - timedelta(days=1), note="Podcast")
    assert _table((await client.get(f"/student/reports/{frozen_id}")).text) == before
    moved = _table((await client.get(f"/student/report?from=2026-09-01&to={TODAY.isoformat()}")).text)
    assert moved != before

    # The PDF of the frozen report renders through the same template, with its label.
    pdf = await client.get(f"/student/reports/{frozen_id}.pdf")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    images, texts = _pages(pdf.content)
    text = " ".join(" ".join(t.split()) for t in texts)
    assert all(_ink(i) > 0.01 for i in images) and "Published" in text and "Alice A's mastery report" in text
    assert "Published reports" not in text  # the screen's list is not printed

    # Her guardian opens it in Spanish; Bob's, or one under another child's path, is 404.
    await _sign_in(client, guardian.email)
    family = await client.get(f"/guardian/children/{people['alice_id']}/reports/{frozen_id}")
    assert family.status_code == 200 and "Publicado el" in family.text and "Informe de dominio de Alice A" in family.text
    assert f'/guardian/children/{people["alice_id"]}/reports/{frozen_id}' in (
        await client.get(f"/guardian/children/{people['alice_id']}/report")).text
    pdf = await client.get(f"/guardian/children/{people['alice_id']}/reports/{frozen_id}.pdf")
    assert pdf.status_code == 200 and "Publicado" in " ".join(_pages(pdf.content)[1])
    for url in (f"/guardian/children/{people['alice_id']}/reports/{bobs}", f"/guardian/children/{people['bob_id']}/reports/{bobs}",
                f"/guardian/children/{people['bob_id']}/reports/{frozen_id}", f"/guardian/children/{people['alice_id']}/reports/{uuid.uuid4()}",
                f"/guardian/children/{people['alice_id']}/reports/{bobs}.pdf"):
        assert (await client.get(url)).status_code == 404, url
    await _sign_in(client, people["bob"])
    assert (await client.get(f"/student/reports/{frozen_id}")).status_code == 404
    assert (await client.get(f"/student/reports/{frozen_id}.pdf")).status_code == 404

    # Published again: the same row (the link sent still opens it), the new numbers, a later day; audited.
    await _publish(client, people)
    async with runtime.db.transaction() as session:
        again = (await session.execute(sa_text("SELECT id, published_at FROM published_reports WHERE student_id = :s"),
                                       {"s": people["alice_id"]})).all()
        trail = [e for e in await audit_trail(session, "student", str(people["alice_id"])) if e.action == "report.published"]
    assert [r.id for r in again] == [frozen_id] and again[0].published_at > first_at
    assert len(trail) == 2 and trail[-1].data["published_report_id"] == str(frozen_id)
    await _sign_in(client, people["alice"])
    assert _table((await client.get(f"/student/reports/{frozen_id}")).text) == moved
