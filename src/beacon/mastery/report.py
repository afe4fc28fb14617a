"""The mastery report (issue 15): one page per student for a period, worth keeping. Strengths
first, each competency's continuum with its growth, two or three pieces of evidence in the
student's own words, what comes next and how a family can help at home.

Everything is read from ``progress.progress_of``, which reads the mastery record: the report's
numbers are the record's, never recalculated. What the record keeps for teachers (needs-support
flags) is never read into it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from beacon.db.audit import add_audit
from beacon.mastery import repository
from beacon.mastery.models import PublishedReport
from beacon.mastery.progress import CompetencyProgress, CriterionProgress, Level, Story, progress_of
from beacon.school import repository as school
from beacon.school.models import User

STANDING = {"met": 3, "approaching": 2, "emerging": 1, "not_started": 0}
HIGHLIGHTS = 3  # pieces of evidence in the student's own words
STRENGTHS = 3  # competencies named first, as strengths
NEXT_STEPS = 3  # what comes next: a page has room for three, and a family for as many
QUOTE_CHARS = 280  # a quote longer than this is cut at a word: a report is one page


@dataclass(frozen=True)
class Highlight:
    """A piece of evidence in the student's own words, from released feedback in the period."""

    competency: str
    criterion: str
    level: Level
    quote: str
    on: date
    title: str | None


@dataclass(frozen=True)
class Section:
    """One competency on the report: where the student is, the criterion furthest along, and the
    one to grow next (None once every criterion has reached the threshold)."""

    progress: CompetencyProgress
    strongest: CriterionProgress | None
    next: CriterionProgress | None


@dataclass(frozen=True)
class Report:
    student: User
    start: date
    end: date
    sections: list[Section]  # strengths first
    highlights: list[Highlight]
    pieces: int  # pieces of work in the period
    published_at: datetime | None = None  # a frozen, published report's moment; None: read live

    @property
    def strengths(self) -> list[Section]:
        return [s for s in self.sections if s.progress.value is not None][:STRENGTHS]

    @property
    def next_steps(self) -> list[Section]:
        """The competencies furthest from mastery that have a next level to name."""
        growing = [s for s in self.sections if s.next is not None and s.next.next is not None and s.next.next_descriptor]
        return sorted(growing, key=lambda s: (s.progress.value or 0))[:NEXT_STEPS]


def _value(c: CriterionProgress) -> float:
    return c.value if c.value is not None else 0.0


def _section(competency: CompetencyProgress) -> Section:
    rated = [c for c in competency.criteria if c.value is not None]
    strongest = max(rated, key=_value, default=None)
    # The criterion to grow next: the lowest below the threshold, else the one short of evidence.
    below = [c for c in competency.criteria if c.next is not None]
    short = [c for c in competency.criteria if not c.complete]
    grow = min(below, key=_value, default=None) or (short[0] if short else None)
    return Section(competency, strongest, grow)


def _cut(quote: str) -> str:
    quote = " ".join(quote.split())
    if len(quote) <= QUOTE_CHARS:
        return quote
    return quote[:QUOTE_CHARS].rsplit(" ", 1)[0] + "…"


def _highlights(competencies: list[CompetencyProgress], start: date, end: date) -> list[Highlight]:
    """The strongest quoted evidence of the period, one per competency first, then any."""
    found = []
    for c in competencies:
        for work in c.works:
            if not start <= work.on <= end:
                continue
            for shown in work.ratings:
                for quote in shown.quotes[:1]:
                    found.append(Highlight(c.title, shown.criterion, shown.level, _cut(quote), work.on, work.title))
    found.sort(key=lambda h: (-h.level.number, -h.on.toordinal()))  # the strongest, the most recent first
    chosen, seen = [], set()
    for h in found:  # a spread across competencies reads better than three quotes from one essay
        if h.competency not in seen:
            chosen.append(h)
            seen.add(h.competency)
    chosen += [h for h in found if h not in chosen]
    return chosen[:HIGHLIGHTS]


def report_from(student: User, competencies: list[CompetencyProgress], start: date, end: date) -> Report:
    """The report, from a student's progress: pure, so a class's reports are made the same way."""
    sections = sorted((_section(c) for c in competencies),
                      key=lambda s: (-STANDING.get(s.progress.status, 0), -(s.progress.value or 0), s.progress.title))
    pieces = len({(c.id, w.anchor) for c in competencies for w in c.works if start <= w.on <= end})
    return Report(student, start, end, sections, _highlights(competencies, start, end), pieces)


async def report_of(session: AsyncSession, student: User, settings, *, start: date, end: date,
                    language: str | None = None) -> Report:
    """``language``: the reader's, for the rubric's words (a family may read another than the child)."""
    progress = await progress_of(session, student, settings, language=language)
    return report_from(student, progress.competencies, start, end)


# --- Published reports: the report as it was, kept ----------------------------------------------
# A snapshot holds what the report shows (report.html reads nothing else), not the whole record:
# criteria without their chart points, competencies without their evidence lists, since the
# highlights and counts are already chosen. SNAPSHOT says which shape a row's data has.

SNAPSHOT = 1


def _level(level: Level | None) -> list | None:
    return None if level is None else [level.number, level.label]


def _unlevel(value) -> Level | None:
    return None if value is None else Level(int(value[0]), str(value[1]))


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _criterion_json(c: CriterionProgress) -> dict:
    st = c.story
    return {"id": c.id, "title": c.title, "value": c.value, "start": c.start, "now": _level(c.now),
            "evidence": c.evidence, "required": c.required, "complete": c.complete, "next": _level(c.next),
            "next_descriptor": c.next_descriptor, "baseline": c.baseline,
            "story": {"kind": st.kind, "since": _day(st.since), "start": _level(st.start), "now": _level(st.now),
                      "best": _level(st.best), "pieces": st.pieces}}


def _criterion_back(d: dict) -> CriterionProgress:
    st = d["story"]
    story = Story(st["kind"], date.fromisoformat(st["since"]) if st["since"] else None, _unlevel(st["start"]),
                  _unlevel(st["now"]), _unlevel(st["best"]), st["pieces"])
    return CriterionProgress(d["id"], d["title"], d["value"], d["start"], _unlevel(d["now"]), d["evidence"],
                             d["required"], d["complete"], story, _unlevel(d["next"]), d["next_descriptor"], d["baseline"])


def report_json(report: Report) -> dict:
    """The report as JSON (``report_back`` reads it again): what it shows, as computed now."""
    sections = []
    for s in report.sections:
        c = s.progress
        sections.append({
            "id": c.id, "title": c.title, "language": c.language, "levels": [_level(lv) for lv in c.levels],
            "threshold": c.threshold.number, "status": c.status, "value": c.value, "start": c.start,
            "evidence": c.evidence, "required": c.required, "criteria": [_criterion_json(cr) for cr in c.criteria],
            "strongest": s.strongest.id if s.strongest else None, "next": s.next.id if s.next else None})
    return {"snapshot": SNAPSHOT, "student_name": report.student.full_name, "start": report.start.isoformat(),
            "end": report.end.isoformat(), "pieces": report.pieces, "sections": sections,
            "highlights": [{"competency": h.competency, "criterion": h.criterion, "level": _level(h.level),
                            "quote": h.quote, "on": h.on.isoformat(), "title": h.title} for h in report.highlights]}


def report_back(data: dict, student: User, published_at: datetime | None = None) -> Report:
    """A report from ``report_json``'s JSON: the same dataclasses, so one template renders both."""
    sections = []
    for d in data["sections"]:
        levels = [_unlevel(lv) for lv in d["levels"]]
        criteria = [_criterion_back(cr) for cr in d["criteria"]]
        by_id = {cr.id: cr for cr in criteria}
        competency = CompetencyProgress(d["id"], d["title"], d["language"], levels, levels[d["threshold"] - 1],
                                        d["status"], d["value"], d["start"], dict(d["evidence"]), d["required"],
                                        criteria, [])
        sections.append(Section(competency, by_id.get(d["strongest"]), by_id.get(d["next"])))
    highlights = [Highlight(h["competency"], h["criterion"], _unlevel(h["level"]), h["quote"],
                            date.fromisoformat(h["on"]), h["title"]) for h in data["highlights"]]
    return Report(student, date.fromisoformat(data["start"]), date.fromisoformat(data["end"]), sections, highlights,
                  data["pieces"], published_at)


async def _languages(session: AsyncSession, student: User) -> list[str]:
    """Who reads this report (the student, each guardian): their languages, the student's first."""
    found = [(await school.preferred_language(session, student) or "en").split("-")[0].lower()]
    for _id, guardian in await school.guardians_of(session, [student.id]):
        lang = (await school.preferred_language(session, guardian) or "en").split("-")[0].lower()
        if lang not in found:
            found.append(lang)
    return found


async def publish(session: AsyncSession, actor: User, class_id: uuid.UUID, student: User, settings, *,
                  start: date, end: date) -> PublishedReport:
    """Freeze the student's report for the period as it is now, in the language of each of its
    readers (the rubric's words are translated; the numbers are one). A republish of the same
    student, class and period replaces the data and moves ``published_at``; the id stays, so a
    link already sent opens the new one. Audited (the data itself is the row)."""
    data = {"languages": {}}
    for lang in await _languages(session, student):
        data["languages"][lang] = report_json(await report_of(session, student, settings, start=start, end=end,
                                                              language=lang))
    data["first"] = next(iter(data["languages"]))
    row = await repository.put_published_report(session, student_id=student.id, class_id=class_id, start=start,
                                                end=end, published_by=actor.id, data=data)
    await add_audit(session, actor_id=actor.id, action="report.published", subject_type="student",
                    subject_id=str(student.id), data={"published_report_id": str(row.id), "class_id": str(class_id),
                                                      "from": start.isoformat(), "to": end.isoformat(),
                                                      "languages": list(data["languages"])})
    return row


def frozen(row: PublishedReport, student: User, language: str) -> Report:
    """The published report in ``language`` where it was frozen in it, else the student's."""
    languages = row.data["languages"]
    data = languages.get(language.split("-")[0].lower()) or languages[row.data["first"]]
    return report_back(data, student, row.published_at)
