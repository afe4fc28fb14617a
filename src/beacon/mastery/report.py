"""The mastery report (issue 15): one page per student for a period, worth keeping. Strengths
first, each competency's continuum with its growth, two or three pieces of evidence in the
student's own words, what comes next and how a family can help at home.

Everything is read from ``progress.progress_of``, which reads the mastery record: the report's
numbers are the record's, never recalculated. What the record keeps for teachers (needs-support
flags) is never read into it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from beacon.mastery.progress import CompetencyProgress, CriterionProgress, Level, progress_of
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
