"""The mastery record: ratings written when evidence is approved or a teacher logs a
demonstration, read back as each student's standing per competency (``calculation.py``), growth,
and what needs support (``support.py``). Services never commit: the decision's transaction
writes a release and its ratings together, or neither."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from beacon import offload
from beacon.approval.decisions import stable_id
from beacon.db.audit import add_audit
from beacon.errors import Conflict, InvalidInput, NotFound
from beacon.mastery import repository, support
from beacon.mastery.calculation import CompetencyStatus, Growth, Method, Point, growth, status
from beacon.mastery.models import Rating, SupportDismissal
from beacon.mastery.schemas import Dismissal, NewRatings
from beacon.rubrics import repository as rubrics
from beacon.rubrics.schemas import RubricDefinition
from beacon.school import repository as school
from beacon.school.models import User

FLAG_WINDOW = timedelta(days=60)  # how far back a pattern of flagged drafts is looked for


async def record_release(session: AsyncSession, *, release_id: uuid.UUID, student_id: uuid.UUID,
                         teacher_id: uuid.UUID, rubric_version_id: int, content: dict, work_date: date) -> int:
    """The released levels (the teacher's edits included) become ratings, one per criterion,
    dated by the work. Returns how many."""
    rows = [
        {"id": stable_id(release_id, "rating", c["criterion_id"]), "student_id": student_id,
         "competency_id": content["rubric_id"], "rubric_version_id": rubric_version_id,
         "criterion_id": c["criterion_id"], "level": int(c["level"]), "work_date": work_date, "source": "draft",
         "release_id": release_id, "rated_by": teacher_id,
         "evidence": [{"start": e["start"], "end": e["end"], "quote": e["quote"]} for e in c.get("evidence", [])]}
        for c in content.get("criteria", [])
    ]
    await repository.add_ratings(session, rows)
    return len(rows)


def _required(definition: dict) -> int:
    # Versions stored before the rubric format had the field ask for its default.
    return definition.get("evidence_required", RubricDefinition.model_fields["evidence_required"].default)


def method_for(settings, definition: dict, school_choice: dict | None = None) -> Method:
    """The competency's own calculation if its rubric names one, else the school's (its settings,
    else ``Settings.mastery_method``); top-N counts the competency's evidence requirement."""
    school_choice = school_choice or {}
    name = definition.get("calculation") or school_choice.get("mastery_method") or settings.mastery_method
    weight = school_choice.get("mastery_decay_weight") or settings.mastery_decay_weight
    return Method(name, weight=weight, n=_required(definition))


@dataclass
class Standing:
    """One student on one competency: the status and numbers, growth, what keeps it from met,
    and the concerns a teacher should see."""

    competency_id: str
    title: str
    method: str
    levels: int
    status: CompetencyStatus
    growth: Growth
    missed: dict[str, int]
    last_work: date | None
    concerns: list[support.Concern] = field(default_factory=list)

    def as_json(self, *, support: bool = True) -> dict:
        """``support``: the needs-support flags, for teachers and admins (not the student's own view)."""
        s = self.status
        return {"title": self.title, "method": self.method, "levels": self.levels, "status": s.status,
                "value": s.value, "criteria": s.criteria, "evidence": s.evidence, "required": s.required,
                "threshold": s.threshold, "missing": s.missing, "missed": self.missed,
                "growth": {"competency": self.growth.competency, "criteria": self.growth.per_criterion},
                "last_work": self.last_work.isoformat() if self.last_work else None,
                "support": [concern_json(c) for c in self.concerns] if support else []}


def concern_json(c: support.Concern) -> dict:
    return {"kind": c.kind, "reason": c.reason, "cause": c.cause, "competency_id": c.competency_id,
            "criterion_id": c.criterion_id, "evidence": c.evidence}


@dataclass
class Record:
    student_id: uuid.UUID
    competencies: dict[str, Standing]
    concerns: list[support.Concern]  # about the student's work as a whole

    def needs_support(self) -> bool:
        return bool(self.concerns) or any(s.concerns for s in self.competencies.values())


@dataclass
class _Facts:
    """Everything the calculation reads, gathered in a handful of queries for any number of students."""

    rows: list
    definitions: dict[str, dict]
    dismissed: set
    flagged: dict[str, list[tuple[str, date]]]
    waiting_releases: set


async def _gather(session: AsyncSession, student_ids: list[uuid.UUID], settings, now: datetime) -> _Facts:
    rows = await repository.rating_facts(session, student_ids)
    competency_ids = sorted({r.competency_id for r in rows})
    definitions = {}
    if competency_ids:
        ids = await rubrics.current_version_ids(session, competency_ids)
        definitions = {v.competency_id: v.definition for v in await rubrics.versions_by_ids(session, list(ids.values()))}
    flagged: dict[str, list[tuple[str, date]]] = defaultdict(list)
    for student_id, draft_id, created in await repository.flagged_drafts(session, student_ids, now - FLAG_WINDOW):
        flagged[str(student_id)].append((str(draft_id), created.date()))
    waiting = await repository.unrevised_releases(
        session, student_ids, now - timedelta(days=settings.support_revise_days))
    return _Facts(rows, definitions, await repository.dismissed(session, student_ids), flagged, {str(r) for r in waiting})


def _standings(facts: _Facts, student_ids: list[uuid.UUID], settings, school_choice: dict | None,
               today: date) -> dict[uuid.UUID, Record]:
    """The pure part: ratings → records. Run off the event loop for a class or a school."""
    limits = support.Thresholds.of(settings)
    points: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    baselines: dict = defaultdict(lambda: defaultdict(dict))
    completed: dict = defaultdict(lambda: defaultdict(set))
    missed: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    waiting: dict = defaultdict(dict)  # student → rating id → release not revised
    class_latest: dict[str, date] = {}
    for r in facts.rows:
        if r.competency_id not in facts.definitions:
            continue
        sid, cid = r.student_id, r.competency_id
        if r.source == "override":
            completed[sid][cid].add(r.criterion_id)
        elif r.source == "baseline":
            continue  # below: rows come unordered, and the latest baseline wins
        elif r.source == "missed" and settings.mastery_missed == "apart":
            missed[sid][cid][r.criterion_id] += 1
        else:
            level = 1 if r.source == "missed" else r.level
            points[sid][cid][r.criterion_id].append(Point(r.work_date, level, r.id))
            if r.release_id in facts.waiting_releases:
                waiting[sid][r.id] = r.release_id
            if class_latest.get(cid) is None or r.work_date > class_latest[cid]:
                class_latest[cid] = r.work_date
    for r in sorted((r for r in facts.rows if r.source == "baseline" and r.competency_id in facts.definitions),
                    key=lambda r: (r.work_date, r.id)):
        baselines[r.student_id][r.competency_id][r.criterion_id] = r.level

    records: dict[uuid.UUID, Record] = {}
    for sid in student_ids:
        standings = {}
        for cid in sorted(set(points[sid]) | set(completed[sid]) | set(missed[sid]) | set(baselines[sid])):
            definition = facts.definitions[cid]
            criteria = [c["id"] for c in definition["criteria"]]
            method = method_for(settings, definition, school_choice)
            scale = (1, len(definition["levels"]))
            ratings = {c: points[sid][cid].get(c, []) for c in criteria}
            standing = status(ratings, criteria, method, threshold=definition["mastery_threshold"],
                              required=_required(definition), today=today, scale=scale, completed=completed[sid][cid])
            grown = growth(ratings, criteria, method, baselines=baselines[sid][cid], today=today, scale=scale)
            dates = [p.on for ps in ratings.values() for p in ps]
            concerns = support.on_competency(
                ratings, competency_id=cid, titles={c["id"]: c["title"] for c in definition["criteria"]},
                labels={lv["level"]: lv["label"] for lv in definition["levels"]},
                threshold=definition["mastery_threshold"], method=method, today=today, limits=limits,
                class_latest=class_latest.get(cid) if len(student_ids) > 1 else None, waiting=waiting[sid])
            standings[cid] = Standing(cid, definition["title"], method.name, len(definition["levels"]), standing,
                                      grown, dict(missed[sid][cid]), max(dates) if dates else None,
                                      [c for c in concerns if (str(sid), cid, c.kind, c.cause) not in facts.dismissed])
        whole = [c for c in support.on_student(facts.flagged.get(str(sid), []), limits=limits)
                 if (str(sid), "", c.kind, c.cause) not in facts.dismissed]
        records[sid] = Record(sid, standings, whole)
    return records


async def records_of(session: AsyncSession, student_ids: list[uuid.UUID], settings, *,
                     school_choice: dict | None = None, today: date | None = None) -> dict[uuid.UUID, Record]:
    """Every listed student's record. Students looked at together (a class, a school) are each
    other's context: "no evidence in X weeks" is raised only while the others have some."""
    now = datetime.now(UTC)
    facts = await _gather(session, student_ids, settings, now)
    today = today or now.date()
    if len(facts.rows) < 2_000:
        return _standings(facts, student_ids, settings, school_choice, today)
    return await offload.in_thread(_standings, facts, student_ids, settings, school_choice, today)


async def record_of(session: AsyncSession, student_id: uuid.UUID, settings, today: date | None = None,
                    school_choice: dict | None = None) -> dict[str, CompetencyStatus]:
    """Every competency with ratings: its status by its method."""
    records = await records_of(session, [student_id], settings, school_choice=school_choice, today=today)
    return {cid: s.status for cid, s in records[student_id].competencies.items()}


# --- What a teacher writes ------------------------------------------------------------------

async def log_ratings(session: AsyncSession, teacher: User, entry: NewRatings) -> list[Rating]:
    """A demonstration Beacon could not read (a performance, a lab observed, a conference), a
    missed criterion, an override, a baseline or a correction: one rating per student and
    criterion, for students the teacher teaches (anyone else: NotFound, nothing written)."""
    version = await rubrics.current_version(session, entry.competency_id)
    if version is None:
        raise InvalidInput(f"no competency {entry.competency_id!r}")
    definition = version.definition
    criteria = {c["id"] for c in definition["criteria"]}
    top = len(definition["levels"])
    for r in entry.ratings:
        if r.criterion_id not in criteria:
            raise InvalidInput(f"{definition['title']} has no criterion {r.criterion_id!r}")
        if r.level is not None and r.level > top:
            raise InvalidInput(f"{definition['title']} has levels 1 to {top}")
    for student_id in entry.student_ids:
        if not await school.teaches(session, teacher.id, student_id):
            raise NotFound("not found")
    if entry.supersedes_id is not None:
        earlier = await repository.get_rating(session, entry.supersedes_id)
        if (earlier is None or earlier.student_id != entry.student_ids[0]
                or earlier.competency_id != entry.competency_id
                or earlier.criterion_id != entry.ratings[0].criterion_id):
            raise NotFound("not found")
        if await repository.is_superseded(session, earlier.id):
            raise Conflict("that rating was already corrected: correct the latest one")
    rows = []
    for student_id in entry.student_ids:
        for r in entry.ratings:
            rows.append(Rating(
                id=uuid.uuid4(), student_id=student_id, competency_id=entry.competency_id,
                rubric_version_id=version.id, criterion_id=r.criterion_id,
                level=0 if r.level is None else r.level, work_date=entry.work_date, source=entry.source,
                note=entry.note or None, artifact_url=str(entry.artifact_url) if entry.artifact_url else None,
                rated_by=teacher.id, supersedes_id=entry.supersedes_id))
    session.add_all(rows)
    await session.flush()
    for student_id in entry.student_ids:
        mine = [r for r in rows if r.student_id == student_id]
        await add_audit(session, actor_id=teacher.id, action=f"rating.{entry.source}", subject_type="student",
                        subject_id=str(student_id), data={
                            "competency_id": entry.competency_id, "work_date": entry.work_date.isoformat(),
                            "ratings": {r.criterion_id: r.level for r in mine}, "ids": [str(r.id) for r in mine],
                            "supersedes": str(entry.supersedes_id) if entry.supersedes_id else None})
    return rows


async def dismiss(session: AsyncSession, teacher: User, dismissal: Dismissal) -> SupportDismissal:
    """Dismiss a needs-support flag of a student the teacher teaches, with a note (audited)."""
    if dismissal.kind not in support.KINDS:
        raise InvalidInput(f"no kind of flag {dismissal.kind!r}")
    if not await school.teaches(session, teacher.id, dismissal.student_id):
        raise NotFound("not found")
    row = SupportDismissal(id=uuid.uuid4(), student_id=dismissal.student_id, competency_id=dismissal.competency_id,
                           kind=dismissal.kind, cause=dismissal.cause, note=dismissal.note, dismissed_by=teacher.id)
    await repository.add_dismissal(session, row)
    await add_audit(session, actor_id=teacher.id, action="support.dismissed", subject_type="student",
                    subject_id=str(dismissal.student_id), data={
                        "competency_id": dismissal.competency_id, "kind": dismissal.kind,
                        "cause": dismissal.cause, "note": dismissal.note})
    return row


# --- What a teacher reads -------------------------------------------------------------------

@dataclass
class Entry:
    """One rating as the history of a cell shows it."""

    id: str
    competency_id: str
    criterion_id: str
    criterion: str
    level: int
    label: str
    work_date: date
    source: str
    rated_by: str
    note: str | None
    artifact_url: str | None
    release_id: str | None
    evidence: list[dict]
    supersedes_id: str | None


def _entries(rows: list[Rating], definitions: dict[str, dict], names: dict) -> list[Entry]:
    entries = []
    for r in rows:
        definition = definitions.get(r.competency_id, {"criteria": [], "levels": []})
        titles = {c["id"]: c["title"] for c in definition["criteria"]}
        labels = {lv["level"]: lv["label"] for lv in definition["levels"]}
        entries.append(Entry(
            str(r.id), r.competency_id, r.criterion_id, titles.get(r.criterion_id, r.criterion_id), r.level,
            "missed" if r.source == "missed" else labels.get(r.level, str(r.level)), r.work_date, r.source,
            names.get(r.rated_by, ""), r.note, r.artifact_url, str(r.release_id) if r.release_id else None,
            r.evidence or [], str(r.supersedes_id) if r.supersedes_id else None))
    return entries


async def history(session: AsyncSession, student_id: uuid.UUID, competency_id: str) -> tuple[dict, list[Entry]]:
    """A student's ratings on one competency over time, oldest first, each with its evidence."""
    version = await rubrics.current_version(session, competency_id)
    if version is None:
        raise NotFound("not found")
    rows = await repository.current_ratings(session, student_id, competency_id)
    names = await repository.raters(session, {r.rated_by for r in rows})
    return version.definition, _entries(rows, {competency_id: version.definition}, names)


async def ratings_of_students(session: AsyncSession, student_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Entry]]:
    """Every current rating of these students (a class's export), by student, oldest work first."""
    rows = await repository.current_ratings_of(session, student_ids)
    competency_ids = sorted({r.competency_id for r in rows})
    ids = await rubrics.current_version_ids(session, competency_ids) if competency_ids else {}
    definitions = {v.competency_id: v.definition for v in await rubrics.versions_by_ids(session, list(ids.values()))}
    names = await repository.raters(session, {r.rated_by for r in rows})
    by_student: dict[uuid.UUID, list[Rating]] = defaultdict(list)
    for r in rows:
        by_student[r.student_id].append(r)
    return {sid: _entries(by_student.get(sid, []), definitions, names) for sid in student_ids}


@dataclass
class Grid:
    """A class's students × competencies."""

    students: list[User]
    competencies: list[tuple[str, str]]  # (id, title): the class's assignments' first, then any rated
    records: dict[uuid.UUID, Record]


async def class_grid(session: AsyncSession, class_id: uuid.UUID, settings, *, today: date | None = None,
                     school_choice: dict | None = None) -> Grid:
    students = await repository.students_of_class(session, class_id)
    records = await records_of(session, [s.id for s in students], settings, school_choice=school_choice, today=today)
    titles: dict[str, str] = {}
    for competency_id, title in await repository.class_competencies(session, class_id):
        titles[competency_id] = title
    for record in records.values():
        for cid, standing in record.competencies.items():
            titles.setdefault(cid, standing.title)
    return Grid(students, list(titles.items()), records)


@dataclass
class Overview:
    """A school at a glance: per competency, how many students stand where; who needs support."""

    students: int
    by_competency: dict[str, dict]  # id → {"title", "not_started", "emerging", "approaching", "met", "support"}
    needing_support: list[tuple[User, int]]  # (student, how many concerns), most first


async def school_overview(session: AsyncSession, school_id: uuid.UUID, settings, *, today: date | None = None,
                          school_choice: dict | None = None, top: int = 50) -> Overview:
    students = await repository.students_of_school(session, school_id)
    records = await records_of(session, [s.id for s in students], settings, school_choice=school_choice, today=today)
    by_competency: dict[str, dict] = {}
    for record in records.values():
        for cid, standing in record.competencies.items():
            counts = by_competency.setdefault(cid, {"title": standing.title, "not_started": 0, "emerging": 0,
                                                    "approaching": 0, "met": 0, "support": 0})
            counts[standing.status.status] += 1
            counts["support"] += bool(standing.concerns)
    for counts in by_competency.values():
        counts["not_started"] = len(students) - counts["emerging"] - counts["approaching"] - counts["met"]
    flagged = sorted(((s, len(records[s.id].concerns) + sum(len(x.concerns) for x in records[s.id].competencies.values()))
                      for s in students if records[s.id].needs_support()), key=lambda pair: -pair[1])
    return Overview(len(students), dict(sorted(by_competency.items())), flagged[:top])
