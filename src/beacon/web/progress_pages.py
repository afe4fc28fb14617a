"""A student's "My progress" page (issue 15): every competency with evidence as its continuum,
and per criterion a chart of levels over time whose points open the work. The numbers come
from ``mastery.progress`` (the record's own); this module only lays them out: the charts are
inline SVG drawn on the server (no script, no CDN), each with a text alternative and a table.
Every word is in the templates (student_progress.html, _progress_*.html), in the reader's
language; a family reads the same page about their child (guardian_pages.py). The student sets,
changes and withdraws their own goal on each competency here (mastery/goals.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from beacon.errors import Conflict, InvalidInput, NotFound
from beacon.mastery import goals, portfolio
from beacon.mastery.models import GOAL_MAX_CHARS
from beacon.mastery.progress import CompetencyProgress, CriterionProgress, Moment, Progress, progress_of
from beacon.school.auth import session
from beacon.school.models import User
from beacon.text import check_form, guess_language
from beacon.web import flash, i18n
from beacon.web.i18n import N_, _
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
    points: Markup = Markup()  # the dots as links, with their titles (drawn by ``worded``)
    rows: Markup = Markup()  # the data table's rows, one per dot

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


# What each point of a chart says, its table row, and the evidence list. Worded here rather than
# in the templates: a full record has 840 points, and a gettext and four filters or macros per
# point in Jinja were ~110 ms of a 160 ms page. Here each message is translated once per
# criterion and filled in per point with plain string formatting, every value escaped.
POINT_WORK = N_("%(day)s: “%(work)s”, %(level)s (%(number)s)")
POINT_UNTITLED = N_("%(day)s: untitled work, %(level)s (%(number)s)")
POINT_SHOWN = N_("%(day)s: %(work)s, %(level)s (%(number)s)")
SHOWN_TO_FAMILY, SHOWN_TO_STUDENT = N_("shown to %(name)s's teacher"), N_("shown to your teacher")
SHOWED_FAMILY, SHOWED_STUDENT = N_("something %(name)s showed a teacher"), N_("something you showed your teacher")
SHOWED_NOTE_FAMILY = N_("something %(name)s showed a teacher: %(note)s")
SHOWED_NOTE_STUDENT = N_("something you showed your teacher: %(note)s")
UNTITLED = N_("untitled work")
ROW_LEVEL, ROW_MISSED = N_("%(level)s (%(number)s)"), N_("%(level)s (%(number)s), not shown in this work")
RATED, RATED_MISSED = N_("%(criterion)s: %(level)s (%(number)s)"), N_("%(criterion)s: %(level)s (%(number)s), not shown in this work")
FEEDBACK_ON, FEEDBACK_UNTITLED = N_("feedback on “%(title)s”"), N_("feedback on untitled work")
REFLECTION_FAMILY, REFLECTION_STUDENT = N_("%(name)s's reflection:"), N_("My reflection:")
MADE_FAMILY, MADE_STUDENT, NEW_TAB = N_("See what %(name)s made"), N_("See what you made"), N_("(opens in a new tab)")


def _e(value) -> str:
    return str(escape(value))


def _truncated(text: str, length: int = 80) -> str:
    """Jinja's ``truncate(80)``, as the notes were cut before: at a word, with "..."."""
    return text if len(text) <= length + 5 else text[:length - 3].rsplit(" ", 1)[0] + "..."


class _Words:
    """The page's messages in ``lang``, escaped once, as ``str`` templates to fill with escaped values."""

    def __init__(self, lang: str, family: bool, child_name: str | None):
        say = i18n.translations(lang).gettext
        self.lang, self.family, self.name = lang, family, _e(child_name or "")
        self.t = {m: _e(say(m)) for m in (POINT_WORK, POINT_UNTITLED, POINT_SHOWN, ROW_LEVEL, ROW_MISSED, RATED, RATED_MISSED,
                                          FEEDBACK_ON, FEEDBACK_UNTITLED, SHOWED_NOTE_FAMILY, SHOWED_NOTE_STUDENT, NEW_TAB)}
        named = {"name": self.name}
        self.shown = _e(say(SHOWN_TO_FAMILY)) % named if family else _e(say(SHOWN_TO_STUDENT))
        self.showed = _e(say(SHOWED_FAMILY)) % named if family else _e(say(SHOWED_STUDENT))
        self.untitled = _e(say(UNTITLED))
        self.reflection = _e(say(REFLECTION_FAMILY)) % named if family else _e(say(REFLECTION_STUDENT))
        self.made = _e(say(MADE_FAMILY)) % named if family else _e(say(MADE_STUDENT))

    def day(self, on: date) -> str:
        return _e(i18n.date_text(on, "yMMMd", self.lang))


def _spans(competency: CompetencyProgress) -> dict[int, str]:
    """Each level's label marked with the rubric's language (it may not be the page's)."""
    lang = _e(competency.language)
    return {lv.number: f'<span lang="{lang}">{_e(lv.label)}</span>' for lv in competency.levels}


def worded(g: Chart, competency: CompetencyProgress, words: _Words, releases: str) -> Chart:
    """The chart with its points' links and titles and its table rows."""
    t, spans, lang = words.t, _spans(competency), _e(competency.language)
    points, rows = [], []
    for d in g.dots:
        m = d.moment
        day, label, number = words.day(m.on), _e(m.label), m.level
        if m.release_id:
            href = _e(f"{releases}{m.release_id}")
            title = (t[POINT_WORK] % {"day": day, "work": _e(m.work), "level": label, "number": number} if m.work
                     else t[POINT_UNTITLED] % {"day": day, "level": label, "number": number})
            mark = f'<circle class="dot" cx="{d.x}" cy="{d.y}" r="6"/>'
            work = _e(m.work) if m.work else words.untitled
        else:
            href = _e(f"#{m.anchor}")
            note = _e(_truncated(m.note)) if m.note else None
            title = t[POINT_SHOWN] % {"day": day, "work": note or words.shown, "level": label, "number": number}
            mark = f'<rect class="dot" x="{d.x - 5}" y="{d.y - 5}" width="10" height="10"/>'
            work = note or words.showed
        level = t[ROW_MISSED if m.source == "missed" else ROW_LEVEL] % {
            "level": spans.get(m.level) or f'<span lang="{lang}">{label}</span>', "number": number}
        points.append(f'<a href="{href}"><title>{title}</title>{mark}</a>')
        rows.append(f'<tr><td>{day}</td><td><a href="{href}">{work}</a></td><td>{level}</td></tr>')
    return replace(g, points=Markup("".join(points)), rows=Markup("".join(rows)))


def evidence(competency: CompetencyProgress, words: _Words, releases: str) -> Markup:
    """The competency's evidence list, newest work as the record orders it: each work with its
    levels per criterion and the quotes in the student's own words."""
    t, spans, lang = words.t, _spans(competency), _e(competency.language)
    items = []
    for w in competency.works:
        if w.release_id:
            said = t[FEEDBACK_ON] % {"title": _e(w.title)} if w.title else t[FEEDBACK_UNTITLED]
            what = f'<a href="{_e(releases)}{_e(w.release_id)}">{said}</a>'
        elif w.note:
            what = t[SHOWED_NOTE_FAMILY if words.family else SHOWED_NOTE_STUDENT] % {"name": words.name, "note": _e(w.note)}
        else:
            what = words.showed
        ratings = []
        # The student's words in their own language, for a screen reader (a Spanish page, an English essay).
        said_in = guess_language(" ".join(q for r in w.ratings for q in r.quotes))
        quote_tag = f'<blockquote class="work" lang="{said_in}">' if said_in else '<blockquote class="work">'
        for r in w.ratings:
            line = t[RATED_MISSED if r.missed else RATED] % {
                "criterion": f'<span lang="{lang}">{_e(r.criterion)}</span>',
                "level": spans.get(r.level.number) or f'<span lang="{lang}">{_e(r.level.label)}</span>', "number": r.level.number}
            quotes = "".join(f'{quote_tag}{_e(q)}</blockquote>' for q in r.quotes)
            ratings.append(f"<li>{line}{quotes}</li>")
        item = f'<li id="{_e(w.anchor)}" tabindex="-1"><p><strong>{words.day(w.on)}</strong>: {what}</p><ul>{"".join(ratings)}</ul>'
        if w.reflection:
            item += f'<p class="reflection"><strong>{words.reflection}</strong> {_e(w.reflection)}</p>'
        if w.artifact_url:
            item += (f'<p><a href="{_e(w.artifact_url)}" rel="noopener noreferrer" target="_blank">{words.made}'
                     f'<span class="sr-only"> {t[NEW_TAB]}</span></a></p>')
        items.append(item + "</li>")
    return Markup("".join(items))


def progress_page(request: Request, user: User, progress: Progress, **context) -> HTMLResponse:
    """student_progress.html for a progress: its charts and continua laid out. ``context`` says who
    reads it (``viewer``, the child's ``child_name`` for a family) and where a release opens (``releases``)."""
    words = _Words(context.get("lang") or i18n.language(request), context.get("viewer") != "student", context.get("child_name"))
    releases = context.get("releases", "")
    charts = {(c.id, cr.id): worded(chart(cr, len(c.levels), c.threshold.number), c, words, releases)
              for c in progress.competencies for cr in c.criteria}
    return render(request, "student_progress.html", user=user, progress=progress, charts=charts,
                  evidence={c.id: evidence(c, words, releases) for c in progress.competencies},
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


@router.post("/student/goals/{goal_id}/achieve")
async def achieve_my_goal(goal_id: uuid.UUID, request: Request, user: User = Depends(student), db=Depends(session)):
    """The student marks their own open goal reached; it moves to "Goals reached"."""
    try:
        goal = await goals.achieve_goal(db, user, goal_id)
    except (NotFound, Conflict):  # someone else's, or already closed: nothing of theirs to mark
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    return flash.redirect(request, f"/student/progress#goal-{goal.competency_id}", notice=_(
        "Goal reached: well done! Set a new one when you are ready.", request))
