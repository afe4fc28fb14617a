"""The mastery report (issue 15), printable and as a PDF: a student's own, a guardian's for their
child (in the guardian's language), and a class's for its teachers (every student's report in one
PDF, and a CSV of the numbers). Out of scope is 404."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response

from beacon.db.audit import add_audit
from beacon.mastery import report as reports
from beacon.mastery import repository as ratings
from beacon.mastery.report import Report, report_of
from beacon.mastery.router import class_access, spreadsheet_safe
from beacon.notifications import service as notifications
from beacon.school import repository as school
from beacon.school.auth import session
from beacon.school.models import User
from beacon.web import flash, i18n
from beacon.web.pdf import PdfUnavailable, pdf_of
from beacon.web.rendering import page_role, render, student, templates

router = APIRouter(include_in_schema=False)
guardian, staff = page_role("guardian"), page_role("teacher", "admin")
LONGEST = timedelta(days=400)  # a period is at most a school year and a bit
DEFAULT = timedelta(days=91)  # without dates: the last term


def _missing() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "not found")


def period(values) -> tuple[date, date]:
    """The report's period from ``from`` and ``to`` (ISO dates, in a query or a form), else the
    last 13 weeks; 422 if that is not a period."""
    try:
        end = date.fromisoformat(str(values.get("to"))[:10]) if values.get("to") else date.today()
        start = date.fromisoformat(str(values.get("from"))[:10]) if values.get("from") else end - DEFAULT
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "from and to are dates: YYYY-MM-DD") from None
    if start > end or end - start > LONGEST:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "a period runs forward, at most 400 days")
    return start, end


def _html(request: Request, reports: list[Report]) -> str:
    return templates.get_template("report.html").render(lang=i18n.language(request), reports=reports, pdf_url=None)


async def _pdf(request: Request, reports: list[Report], filename: str) -> Response:
    try:
        body = await pdf_of(_html(request, reports))
    except PdfUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _page(request: Request, report: Report, back: str, pdf: str, *, published=(), published_base: str = "") -> HTMLResponse:
    """``published``: the student's published reports (newest first), listed above the live one;
    ``published_base``: where one opens."""
    query = request.url.query if report.published_at is None else ""
    return render(request, "report.html", reports=[report], back_url=back, pdf_url=f"{pdf}?{query}" if query else pdf,
                  published=published, published_base=published_base)


async def _report(request: Request, db, who: User) -> Report:
    start, end = period(request.query_params)
    return await report_of(db, who, request.app.state.runtime.settings, start=start, end=end,
                           language=i18n.language(request))


@router.get("/student/report", response_class=HTMLResponse)
async def my_report(request: Request, user: User = Depends(student), db=Depends(session)):
    return _page(request, await _report(request, db, user), "/student/progress", "/student/report.pdf",
                 published=await ratings.published_reports(db, user.id), published_base="/student/reports/")


async def _frozen(request: Request, db, who: User, report_id: uuid.UUID) -> Report:
    """A published report of ``who``'s as it was published (404 when it is not theirs)."""
    row = await ratings.published_report(db, who.id, report_id)
    if row is None:
        raise _missing()
    return reports.frozen(row, who, i18n.language(request))


# The .pdf routes first: "{report_id}" would take "<id>.pdf" and refuse it as no id.
@router.get("/student/reports/{report_id}.pdf")
async def my_published_report_pdf(report_id: uuid.UUID, request: Request, user: User = Depends(student), db=Depends(session)):
    return await _pdf(request, [await _frozen(request, db, user, report_id)], "mastery-report.pdf")


@router.get("/student/reports/{report_id}", response_class=HTMLResponse)
async def my_published_report(report_id: uuid.UUID, request: Request, user: User = Depends(student), db=Depends(session)):
    return _page(request, await _frozen(request, db, user, report_id), "/student/report",
                 f"/student/reports/{report_id}.pdf")


@router.get("/student/report.pdf")
async def my_report_pdf(request: Request, user: User = Depends(student), db=Depends(session)):
    return await _pdf(request, [await _report(request, db, user)], "mastery-report.pdf")


async def _child(db, user: User, student_id: uuid.UUID) -> User:
    if not await school.is_guardian_of(db, user.id, student_id):
        raise _missing()
    return await school.get_user(db, student_id)


@router.get("/guardian/children/{student_id}/report", response_class=HTMLResponse)
async def child_report(student_id: uuid.UUID, request: Request, user: User = Depends(guardian), db=Depends(session)):
    child = await _child(db, user, student_id)
    return _page(request, await _report(request, db, child), "/guardian",
                 f"/guardian/children/{student_id}/report.pdf", published=await ratings.published_reports(db, child.id),
                 published_base=f"/guardian/children/{student_id}/reports/")


@router.get("/guardian/children/{student_id}/reports/{report_id}.pdf")
async def child_published_report_pdf(student_id: uuid.UUID, report_id: uuid.UUID, request: Request,
                                     user: User = Depends(guardian), db=Depends(session)):
    child = await _child(db, user, student_id)
    return await _pdf(request, [await _frozen(request, db, child, report_id)], "mastery-report.pdf")


@router.get("/guardian/children/{student_id}/reports/{report_id}", response_class=HTMLResponse)
async def child_published_report(student_id: uuid.UUID, report_id: uuid.UUID, request: Request,
                                 user: User = Depends(guardian), db=Depends(session)):
    child = await _child(db, user, student_id)
    return _page(request, await _frozen(request, db, child, report_id), f"/guardian/children/{student_id}/report",
                 f"/guardian/children/{student_id}/reports/{report_id}.pdf")


@router.get("/guardian/children/{student_id}/report.pdf")
async def child_report_pdf(student_id: uuid.UUID, request: Request, user: User = Depends(guardian), db=Depends(session)):
    child = await _child(db, user, student_id)
    return await _pdf(request, [await _report(request, db, child)], "mastery-report.pdf")


async def _class_reports(request: Request, db, user: User, class_id: uuid.UUID) -> list[Report]:
    if await class_access(db, user, class_id) != "full":
        raise _missing()
    return [await _report(request, db, s) for s in await ratings.students_of_class(db, class_id)]


@router.get("/teacher/classes/{class_id}/reports.pdf")
async def class_reports_pdf(class_id: uuid.UUID, request: Request, user: User = Depends(staff), db=Depends(session)):
    """Every student's report for the period, one after another in one PDF (a page break between)."""
    return await _pdf(request, await _class_reports(request, db, user, class_id), f"mastery-reports-{class_id}.pdf")


@router.get("/teacher/classes/{class_id}/reports.csv")
async def class_reports_csv(class_id: uuid.UUID, request: Request, user: User = Depends(staff), db=Depends(session)):
    """The reports' numbers: a row per student × competency (the record's, as on each report)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["student", "competency", "status", "value", "levels", "threshold", "evidence_required",
                     "least_evidence", "start", "pieces_in_period"])
    for report in await _class_reports(request, db, user, class_id):
        for s in report.sections:
            c = s.progress
            writer.writerow([spreadsheet_safe(report.student.full_name), spreadsheet_safe(c.title), c.status,
                             "" if c.value is None else f"{c.value:.2f}", len(c.levels), c.threshold.number,
                             c.required, min(c.evidence.values()) if c.evidence else 0,
                             "" if c.start is None else f"{c.start:.2f}", report.pieces])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="mastery-reports-{class_id}.csv"'})



@router.post("/teacher/classes/{class_id}/reports/publish")
async def publish_class_reports(class_id: uuid.UUID, request: Request, user: User = Depends(staff),
                                db=Depends(session)):
    """Freeze each student's report for the period as it is now (mastery/report.publish: what a
    family opens later keeps these numbers; publishing again replaces them) and tell each student
    of the class, and their families, that it is ready (in-app, and by email to those who want it)."""
    if await class_access(db, user, class_id) != "full":
        raise _missing()
    form = await request.form()
    start, end = period(form)
    students = await ratings.students_of_class(db, class_id)
    settings = request.app.state.runtime.settings
    published = {s.id: (await reports.publish(db, user, class_id, s, settings, start=start, end=end)).id for s in students}
    sent = await notifications.notify_report(db, class_id=class_id, student_ids=[s.id for s in students],
                                             start=start.isoformat(), end=end.isoformat(), published=published)
    await add_audit(db, actor_id=user.id, action="reports.published", subject_type="class", subject_id=str(class_id),
                    data={"from": start.isoformat(), "to": end.isoformat(), "notifications": len(sent),
                          "reports": len(published)})
    return flash.redirect(request, f"/teacher/mastery?class_id={class_id}",
                          notice=f"Reports from {start.isoformat()} to {end.isoformat()} published: "
                                 f"{len(published)} reports kept as they are today, "
                                 f"{len(sent)} people told (students and families).")

