"""A student's "My progress" page (issue 15): every competency with evidence as its continuum,
and per criterion a chart of levels over time whose points open the work. The numbers come
from ``mastery.progress`` (the record's own); this module only lays them out: the charts are
inline SVG drawn on the server (no script, no CDN), each with a text alternative and a table.
Every word is in the templates (student_progress.html, _progress_*.html), in the reader's
language; a family reads the same page about their child (guardian_pages.py). The student sets,
changes and withdraws their own goal on each competency here (mastery/goals.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import uuid

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse

from beacon.errors import Conflict, InvalidInput, NotFound
from beacon.mastery import goals, portfolio
from beacon.mastery.models import GOAL_MAX_CHARS
from beacon.mastery.progress import CompetencyProgress, CriterionProgress, Moment, Progress, progress_of
from beacon.school.auth import session
from beacon.school.models import User
from beacon.text import check_form
from beacon.web import flash
from beacon.web.i18n import _
from beacon.web.rendering import render, student

router = APIRouter(include_in_schema=False)

# The charts' geometry, in SVG user units (a pixel at a phone's width).
LEFT, RIGHT, TOP, BOTTOM = 30, 50, 12, 30  # the right margin holds the word for the mastery line
STEP = 28  # between pieces of work: a fingertip apart, so each point is its own link
WIDTH = 300  # fits a 390 px phone inside the page's margins; more work than fits scrolls the chart, not the page
MONTH_GAP = 40  # month names closer than this would overlap: the later one is left out


@dataclass(frozen=True)
class Dot:
    x: int
    y: int
    moment: Moment


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_bottom: int
    grid: list[tuple[int, int]]  # (level, y)
    threshold_y: int
    dots: list[Dot]
    line: str  # the path through the dots, oldest work first
    months: list[tuple[int, date, bool]]  # where a month's work begins on the time axis (and whether to say its year)
    baseline_y: int | None  # where a teacher said the student started

    @property
    def wide(self) -> bool:
        return self.width > WIDTH

    @property
    def has_releases(self) -> bool:  # the key names only the kinds of point the chart has
        return any(d.moment.release_id for d in self.dots)

    @property
    def has_demonstrations(self) -> bool:
        return any(not d.moment.release_id for d in self.dots)


def chart(criterion: CriterionProgress, levels: int, threshold: int) -> Chart:
    """A criterion's levels over time: one dot per rating in work-date order, evenly spaced (two
    pieces on one day stay two links), the levels as gridlines, mastery marked."""
    moments = criterion.moments
    plot = max(120, 18 * (levels - 1))
    width = max(WIDTH, LEFT + RIGHT + STEP * len(moments))
    step = (width - LEFT - RIGHT) / max(len(moments), 1)

    def y(level: float) -> int:  # whole units: a pixel is fine enough, and the page stays small
        return round(TOP + plot * (1 - (min(max(level, 1), levels) - 1) / (levels - 1)))

    dots = [Dot(round(LEFT + step * (i + 0.5)), y(m.level), m) for i, m in enumerate(moments)]
    months: list[tuple[int, date, bool]] = []
    years = len({m.on.year for m in moments}) > 1  # a chart across a new year says which year
    for dot in dots:
        month = dot.moment.on.replace(day=1)
        if (not months or months[-1][1] != month) and (not months or dot.x - months[-1][0] >= MONTH_GAP):
            months.append((dot.x, month, years and (not months or months[-1][1].year != month.year)))
    line = " ".join(f"{'M' if i == 0 else 'L'}{d.x},{d.y}" for i, d in enumerate(dots))
    return Chart(width, TOP + plot + BOTTOM, LEFT, width - RIGHT, TOP + plot, [(n, y(n)) for n in range(1, levels + 1)], y(threshold),
                 dots, line, months, None if criterion.baseline is None else y(criterion.baseline))


@dataclass(frozen=True)
class Continuum:
    """Where a competency's levels, its mastery threshold, the start and now sit on one track."""

    ticks: list[tuple[int, float]]  # (level, x)
    threshold_x: float
    now_x: float | None
    start_x: float | None


TRACK = (16, WIDTH - 16)


def continuum(competency: CompetencyProgress) -> Continuum:
    top = len(competency.levels)

    def x(value: float) -> float:
        return round(TRACK[0] + (TRACK[1] - TRACK[0]) * (min(max(value, 1), top) - 1) / (top - 1), 1)

    return Continuum([(lv.number, x(lv.number)) for lv in competency.levels], x(competency.threshold.number),
                     None if competency.value is None else x(competency.value),
                     None if competency.start is None else x(competency.start))


def progress_page(request: Request, user: User, progress: Progress, **context) -> HTMLResponse:
    """student_progress.html for a progress: its charts and continua laid out. ``context`` says who
    reads it (``viewer``, the child's ``child_name`` for a family) and where a release opens (``releases``)."""
    charts = {(c.id, cr.id): chart(cr, len(c.levels), c.threshold.number)
              for c in progress.competencies for cr in c.criteria}
    return render(request, "student_progress.html", user=user, progress=progress, charts=charts,
                  continua={c.id: continuum(c) for c in progress.competencies}, **context)


@router.get("/student/progress", response_class=HTMLResponse)
async def my_progress(request: Request, user: User = Depends(student), db=Depends(session)):
    """The signed-in student's own progress: no id in the path, so nobody else's can be asked for."""
    progress = await progress_of(db, user, request.app.state.runtime.settings)
    return progress_page(request, user, progress, viewer="student", releases="/student/releases/",
                         links=await portfolio.open_links(db, user.id))


@router.post("/student/goals")
async def set_my_goal(request: Request, user: User = Depends(student), db=Depends(session)):
    """The goal form under a competency: set or change it, back to that competency."""
    form = await request.form()
    check_form(form)
    competency_id = str(form.get("competency_id") or "")[:100]
    level = str(form.get("target_level") or "").strip()
    back = f"/student/progress#goal-{competency_id}"
    try:
        await goals.set_goal(db, user, competency_id, str(form.get("text") or ""), int(level) if level.isdigit() else None)
    except InvalidInput:
        return flash.redirect(request, back, error=_(
            "A goal needs your words, at most %(limit)s characters, and a level from this skill's steps.",
            request, limit=GOAL_MAX_CHARS))
    return flash.redirect(request, back, notice=_("Goal saved. Your teacher sees it next to your next draft.", request))


@router.post("/student/goals/{goal_id}/withdraw")
async def withdraw_my_goal(goal_id: uuid.UUID, request: Request, user: User = Depends(student), db=Depends(session)):
    try:
        goal = await goals.withdraw_goal(db, user, goal_id)
    except (NotFound, Conflict):  # someone else's, or already closed: nothing of theirs to withdraw
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    return flash.redirect(request, f"/student/progress#goal-{goal.competency_id}", notice=_("Goal withdrawn.", request))
