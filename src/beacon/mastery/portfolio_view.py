"""A student's portfolio (issue 15, "My portfolio"): their evidence per competency, across
subjects. Each competency lists the pieces that are evidence of it, newest first: released
feedback (the work's title, its date, the level per criterion and a quote or two in the
student's own words), demonstrations a teacher logged (the note, date and levels), and started
projects (title, driving question, when it started and the released work handed in for it).

Only what a teacher released or logged: the ratings are the record's (a rating exists only once
feedback is released, or a teacher logs it), never a draft, a flag, a goal or a reflection. The
started projects are the projects domain's to read (it sits above this one): the caller passes
them in (``projects/portfolio.py``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from beacon.errors import InvalidInput
from beacon.mastery import repository
from beacon.mastery.models import Rating
from beacon.mastery.progress import Shown, _evidence, in_language
from beacon.rubrics import repository as rubrics
from beacon.rubrics.schemas import SLUG, SUBJECTS
from beacon.school import repository as school
from beacon.school.models import User

KINDS = ("feedback", "demonstration", "project")
QUOTES = 2  # per piece: enough to hear the student, few enough to read a whole portfolio
QUOTE_CHARS = 400  # a quote is verbatim; past this it is cut at a word (an evidence span can be a paragraph)


@dataclass(frozen=True)
class Filters:
    """What the reader narrowed the portfolio to; None is everything."""

    competency: str | None = None
    subject: str | None = None
    kind: str | None = None
    start: date | None = None
    end: date | None = None

    @classmethod
    def of(cls, values) -> Filters:
        """From a query string's ``competency``, ``subject``, ``kind``, ``from`` and ``to`` (an
        empty value is no filter, as a form sends it); InvalidInput names what is wrong."""
        def value(name: str, longest: int) -> str | None:
            found = str(values.get(name) or "").strip()
            if len(found) > longest:
                raise InvalidInput(f"{name}: at most {longest} characters")
            return found or None

        competency, subject, kind = value("competency", 80), value("subject", 100), value("kind", 20)
        if competency and not re.fullmatch(SLUG, competency):
            raise InvalidInput("competency: a competency's id, like argument-writing")
        if subject and subject not in SUBJECTS:
            raise InvalidInput(f"subject: one of {', '.join(SUBJECTS)}")
        if kind and kind not in KINDS:
            raise InvalidInput(f"kind: one of {', '.join(KINDS)}")
        try:
            start, end = (date.fromisoformat(d) if (d := value(name, 10)) else None for name in ("from", "to"))
        except ValueError:
            raise InvalidInput("from and to are dates: YYYY-MM-DD") from None
        if start and end and start > end:
            raise InvalidInput("from is on or before to")
        return cls(competency, subject, kind, start, end)

    @property
    def query(self) -> str:
        """The filters as a query string (the PDF link carries the page's)."""
        pairs = {"competency": self.competency, "subject": self.subject, "kind": self.kind,
                 "from": self.start.isoformat() if self.start else None, "to": self.end.isoformat() if self.end else None}
        return urlencode({k: v for k, v in pairs.items() if v})

    @property
    def any(self) -> bool:
        return bool(self.query)

    def admits(self, kind: str, on: date) -> bool:
        return ((self.kind is None or self.kind == kind) and (self.start is None or on >= self.start)
                and (self.end is None or on <= self.end))


@dataclass(frozen=True)
class Produced:
    """Work handed in for a started project whose feedback was released."""

    title: str
    on: date  # released
    release_id: str


@dataclass(frozen=True)
class StartedProject:
    """A project the student started (their own assignment), as ``projects/portfolio.py`` reads it."""

    assignment_id: str
    title: str
    driving_question: str
    started: date
    competencies: tuple[str, ...]
    produced: tuple[Produced, ...] = ()


@dataclass
class Piece:
    """One piece of evidence of a competency."""

    kind: str  # "feedback", "demonstration" or "project"
    on: date  # the work's date; a project's start
    title: str | None
    note: str | None = None
    release_id: str | None = None
    artifact_url: str | None = None
    ratings: list[Shown] = field(default_factory=list)
    quotes: list[str] = field(default_factory=list)
    driving_question: str | None = None
    produced: tuple[Produced, ...] = ()


@dataclass
class Entry:
    """A competency and its pieces, newest first."""

    id: str
    title: str
    subject: str
    language: str  # of the rubric's words (title, criteria, levels)
    pieces: list[Piece]


@dataclass
class Portfolio:
    student: User
    filters: Filters
    entries: list[Entry]  # by subject, then title; only those with a piece the filters admit
    choices: list[tuple[str, str]]  # every competency with evidence (id, title), for the filter form
    subjects: list[str]  # the subjects among them

    @property
    def pieces(self) -> int:
        return sum(len(e.pieces) for e in self.entries)

    def as_json(self) -> dict:
        """The API's portfolio: the same pieces as the page, dates as ISO strings."""
        def piece(p: Piece) -> dict:
            return {"kind": p.kind, "on": p.on.isoformat(), "title": p.title, "note": p.note,
                    "release_id": p.release_id, "artifact_url": p.artifact_url, "quotes": p.quotes,
                    "ratings": [{"criterion_id": r.criterion_id, "criterion": r.criterion, "level": r.level.number,
                                 "level_label": r.level.label, "missed": r.missed} for r in p.ratings],
                    "driving_question": p.driving_question,
                    "produced": [{"title": w.title, "on": w.on.isoformat(), "release_id": w.release_id}
                                 for w in p.produced]}
        return {"student_id": str(self.student.id), "filters": self.filters.query,
                "competencies": [{"id": e.id, "title": e.title, "subject": e.subject, "language": e.language,
                                  "pieces": [piece(p) for p in e.pieces]} for e in self.entries]}


def _cut(quote: str) -> str:
    quote = " ".join(quote.split())
    return quote if len(quote) <= QUOTE_CHARS else quote[:QUOTE_CHARS].rsplit(" ", 1)[0] + "…"


def _quotes(ratings: list[Shown]) -> list[str]:
    """The first quote of each criterion, in the rubric's order, the strongest level first."""
    found: list[str] = []
    for shown in sorted(ratings, key=lambda s: -s.level.number):
        for quote in shown.quotes[:1]:
            if (cut := _cut(quote)) and cut not in found:
                found.append(cut)
    return found[:QUOTES]


def _pieces(competency_id: str, definition: dict, rows: list[Rating], titles: dict[str, str],
            projects: list[StartedProject], filters: Filters, settings) -> list[Piece]:
    pieces = []
    # The progress page's grouping: one piece is a release, or one logged demonstration.
    for work in _evidence(competency_id, definition, rows, titles, settings).works:
        kind = "feedback" if work.release_id else "demonstration"
        if filters.admits(kind, work.on):
            pieces.append(Piece(kind, work.on, work.title, work.note, work.release_id, work.artifact_url,
                                work.ratings, _quotes(work.ratings) if work.release_id else []))
    for p in projects:
        if competency_id in p.competencies and filters.admits("project", p.started):
            pieces.append(Piece("project", p.started, p.title, driving_question=p.driving_question, produced=p.produced))
    return sorted(pieces, key=lambda piece: piece.on, reverse=True)


async def portfolio_of(session: AsyncSession, student: User, settings, filters: Filters,
                       projects: list[StartedProject], *, language: str | None = None) -> Portfolio:
    """The student's portfolio narrowed by ``filters``, the rubric's words in ``language`` (a
    visitor's or a family's), else the student's."""
    rows = await repository.current_ratings(session, student.id)
    ids = sorted({r.competency_id for r in rows} | {c for p in projects for c in p.competencies})
    versions = {}
    if ids:  # no ids would read every current version
        found = await rubrics.current_version_ids(session, ids)
        versions = {v.competency_id: v for v in await rubrics.versions_by_ids(session, list(found.values()))}
    titles = await repository.release_titles(session, student.id, {r.release_id for r in rows if r.release_id})
    if language is None:
        language = await school.preferred_language(session, student) or "en"
    by_competency: dict[str, list[Rating]] = {}
    for r in rows:
        by_competency.setdefault(r.competency_id, []).append(r)
    everything, entries = [], []
    for cid, version in versions.items():
        definition, shown_in = in_language(version.definition, language, settings.rubrics_dir / "translations")
        everything.append((version.subject, definition["title"], cid))
        if (filters.competency and filters.competency != cid) or (filters.subject and filters.subject != version.subject):
            continue
        pieces = _pieces(cid, definition, by_competency.get(cid, []), titles, projects, filters, settings)
        if pieces:
            entries.append(Entry(cid, definition["title"], version.subject, shown_in, pieces))
    entries.sort(key=lambda e: (e.subject, e.title.casefold()))
    everything.sort(key=lambda c: c[1].casefold())
    return Portfolio(student, filters, entries, [(cid, title) for _s, title, cid in everything],
                     sorted({s for s, _t, _c in everything}))
