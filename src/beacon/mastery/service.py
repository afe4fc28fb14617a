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


async def school_choice(session: AsyncSession, user: User) -> dict:
    """The calculation the person's school chose, if it chose one (its settings' ``mastery_*``)."""
    return await repository.school_mastery_settings(session, user.school_id)


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


# --- Standings: calculated from ratings, stored, read back --------------------------------------
# A row of ``standings`` holds what the ratings alone decide (status, numbers, growth, stuck, drop,
# flat). ``_inputs`` names everything else the calculation used; a row counts only while that and
# the ratings' generation are unchanged, else it is recalculated on read (``_fresh``).

def _inputs(settings, definition: dict, version_id: int, school_choice: dict | None, today: date) -> str:
    method = method_for(settings, definition, school_choice)
    limits = support.Thresholds.of(settings)
    day = today.isoformat() if method.name == "power_law" else ""  # the only method that moves with time
    return (f"v{version_id}|{method.name}|{method.weight:g}|{method.n}|{settings.mastery_missed}"
            f"|{limits.attempts}|{limits.flat_ratings}|{day}")


def counted_level(source: str, level: int, settings) -> int | None:
    """A rating's level as evidence, or None: a baseline or an override is not evidence, and a
    missed criterion is the lowest level only where the school counts it so (``mastery_missed``)."""
    if source in ("baseline", "override") or (source == "missed" and settings.mastery_missed == "apart"):
        return None
    return 1 if source == "missed" else level


def points_by_competency(rows: list[Rating], settings) -> dict[str, dict[str, list[Point]]]:
    """Ratings (current ones, of one student) as the record counts them: competency → criterion
    → points. What a project's "one more piece of evidence" is projected from."""
    points: dict[str, dict[str, list[Point]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        level = counted_level(r.source, r.level, settings)
        if level is not None:
            points[r.competency_id][r.criterion_id].append(Point(r.work_date, level, str(r.id)))
    return points


def _calculate(rows, pairs: set[tuple], definitions: dict[str, dict], settings, school_choice: dict | None,
               today: date) -> dict[tuple, dict]:
    """The pure part: ratings (rows of ``repository.FACTS``) → a stored standing per (student,
    competency) in ``pairs``. Run off the event loop when there are many."""
    limits = support.Thresholds.of(settings)
    points: dict = defaultdict(lambda: defaultdict(list))
    baselines: dict = defaultdict(dict)
    completed: dict = defaultdict(set)
    missed: dict = defaultdict(lambda: defaultdict(int))
    released: dict[str, str] = {}
    for r in rows:
        pair = (r.student_id, r.competency_id)
        if pair not in pairs:
            continue
        level = counted_level(r.source, r.level, settings)
        if r.source == "override":
            completed[pair].add(r.criterion_id)
        elif r.source == "missed" and level is None:
            missed[pair][r.criterion_id] += 1
        elif level is not None:  # a baseline is read below: rows come unordered, and the latest wins
            points[pair][r.criterion_id].append(Point(r.work_date, level, r.id))
            if r.release_id:
                released[r.id] = r.release_id
    for r in sorted((r for r in rows if r.source == "baseline" and (r.student_id, r.competency_id) in pairs),
                    key=lambda r: (r.work_date, r.id)):
        baselines[(r.student_id, r.competency_id)][r.criterion_id] = r.level

    stored = {}
    for pair in pairs:
        definition = definitions[pair[1]]
        criteria = [c["id"] for c in definition["criteria"]]
        method = method_for(settings, definition, school_choice)
        scale = (1, len(definition["levels"]))
        ratings = {c: points[pair].get(c, []) for c in criteria}
        standing = status(ratings, criteria, method, threshold=definition["mastery_threshold"],
                          required=_required(definition), today=today, scale=scale, completed=completed[pair])
        grown = growth(ratings, criteria, method, baselines=baselines[pair], today=today, scale=scale)
        concerns, latest = support.on_ratings(
            ratings, competency_id=pair[1], titles={c["id"]: c["title"] for c in definition["criteria"]},
            labels={lv["level"]: lv["label"] for lv in definition["levels"]},
            threshold=definition["mastery_threshold"], method=method, today=today, limits=limits)
        stored[pair] = {
            "status": standing.status, "value": standing.value, "last_work": latest.on if latest else None,
            "latest_id": latest.id if latest else None, "latest_level": latest.level if latest else None,
            "latest_release": released.get(latest.id) if latest else None,
            "concerns": [concern_json(c) for c in concerns], "flags": [f"{c.kind} {c.cause}" for c in concerns],
            "detail": {"title": definition["title"], "method": method.name, "levels": len(definition["levels"]),
                       "criteria": standing.criteria, "evidence": standing.evidence, "required": standing.required,
                       "threshold": standing.threshold, "missing": standing.missing, "missed": dict(missed[pair]),
                       "growth": {"competency": grown.competency, "criteria": grown.per_criterion}}}
    return stored


async def _definitions(session: AsyncSession, competency_ids: list[str]) -> tuple[dict[str, dict], dict[str, int]]:
    """The current version of each competency: its definition and its id."""
    if not competency_ids:
        return {}, {}
    ids = await rubrics.current_version_ids(session, competency_ids)
    versions = await rubrics.versions_by_ids(session, list(ids.values()))
    return {v.competency_id: v.definition for v in versions}, ids


async def _fresh(session: AsyncSession, student_ids: list[uuid.UUID], settings, school_choice: dict | None,
                 today: date, *, detail: bool = True) -> tuple[list, dict[str, dict], int]:
    """Every stored standing of these students that counts now, recalculating (and storing) the
    ones whose ratings or inputs changed since, and how many that was. Competencies no longer in
    the library are left out. ``detail=False``: the summary columns (``repository.SUMMARY``)."""
    rows = await repository.standings_of(session, student_ids, detail=detail)
    definitions, version_ids = await _definitions(session, sorted({r["competency_id"] for r in rows}))
    inputs = {cid: _inputs(settings, d, version_ids[cid], school_choice, today) for cid, d in definitions.items()}
    rows = [r for r in rows if r["competency_id"] in definitions]
    stale = {(r["student_id"], r["competency_id"]): dict(r) for r in rows
             if r["computed"] != r["generation"] or r["inputs"] != inputs[r["competency_id"]]}
    if stale:
        facts = await repository.rating_facts(session, sorted({sid for sid, _ in stale}),
                                              sorted({cid for _, cid in stale}))
        args = (facts, set(stale), definitions, settings, school_choice, today)
        calculated = _calculate(*args) if len(facts) < 2_000 else await offload.in_thread(_calculate, *args)
        for pair, values in calculated.items():
            row = stale[pair]
            row.update(values, computed=row["generation"], inputs=inputs[pair[1]])
        # A writer that added ratings since bumped the generation: its row is not overwritten.
        # In key order, as the trigger locks them: two readers never wait on each other in a circle.
        await repository.store_standings(session, [stale[pair] for pair in sorted(stale, key=lambda p: (str(p[0]), p[1]))])
        rows = [stale.get((r["student_id"], r["competency_id"]), r) for r in rows]
    return rows, definitions, len(stale)


async def refresh_standings(db, settings, *, today: date | None = None, batch: int = 500) -> int:
    """Recalculate every stale standing, school by school, a batch of students per transaction:
    nightly, so the first reader of the day does not pay for a power law's new day, a new rubric
    version or ratings loaded in bulk. Returns how many were recalculated."""
    today = today or datetime.now(UTC).date()
    done = 0
    async with db.transaction() as session:
        schools = await repository.schools_with_students(session)
    for school_id in schools:
        async with db.transaction() as session:
            choice = await repository.school_mastery_settings(session, school_id)
            ids = [s.id for s in await repository.students_of_school(session, school_id)]
        for start in range(0, len(ids), batch):
            async with db.transaction() as session:
                done += (await _fresh(session, ids[start:start + batch], settings, choice, today, detail=False))[2]
    return done


@dataclass
class _Moment:
    """What the record reads besides the stored standings: it changes with time and with others."""

    dismissed: set
    flagged: dict[str, list[tuple[str, date]]]
    waiting_releases: set[str]


async def _moment(session: AsyncSession, student_ids: list[uuid.UUID], settings, now: datetime) -> _Moment:
    flagged: dict[str, list[tuple[str, date]]] = defaultdict(list)
    for student_id, draft_id, created in await repository.flagged_drafts(session, student_ids, now - FLAG_WINDOW):
        flagged[str(student_id)].append((str(draft_id), created.date()))
    waiting = await repository.unrevised_releases(
        session, student_ids, now - timedelta(days=settings.support_revise_days))
    return _Moment(await repository.dismissed(session, student_ids), flagged, {str(r) for r in waiting})


def _class_latest(rows: list[dict]) -> dict[str, date]:
    """Per competency, the latest work of any of the students looked at together."""
    latest: dict[str, date] = {}
    for r in rows:
        if r["last_work"] and (r["competency_id"] not in latest or r["last_work"] > latest[r["competency_id"]]):
            latest[r["competency_id"]] = r["last_work"]
    return latest


def _now(row: dict, definition: dict, moment: _Moment, limits: support.Thresholds, class_latest: dict[str, date],
         today: date) -> list[support.Concern]:
    """A stored standing's concerns that depend on the moment: quiet, returned work not revised."""
    if row["latest_id"] is None:
        return []
    return support.on_moment(
        Point(row["last_work"], row["latest_level"], row["latest_id"]), row["latest_release"],
        competency_id=row["competency_id"], labels={lv["level"]: lv["label"] for lv in definition["levels"]},
        threshold=definition["mastery_threshold"], today=today, limits=limits,
        class_latest=class_latest.get(row["competency_id"]), waiting=row["latest_release"] in moment.waiting_releases)


def _records(rows: list[dict], definitions: dict[str, dict], student_ids: list[uuid.UUID], moment: _Moment,
             settings, today: date) -> dict[uuid.UUID, Record]:
    """Stored standings → records, adding what depends on the moment: quiet (against the other
    students listed), returned work not revised, and leaving out dismissed flags."""
    limits = support.Thresholds.of(settings)
    class_latest: dict[str, date] = {}
    class_latest = _class_latest(rows) if len(student_ids) > 1 else {}
    by_student: dict[uuid.UUID, dict[str, Standing]] = defaultdict(dict)
    for r in sorted(rows, key=lambda r: r["competency_id"]):
        sid, cid, detail = r["student_id"], r["competency_id"], r["detail"]
        concerns = [support.Concern(**c) for c in r["concerns"]]
        concerns += _now(r, definitions[cid], moment, limits, class_latest, today)
        by_student[sid][cid] = Standing(
            cid, detail["title"], detail["method"], detail["levels"],
            CompetencyStatus(r["status"], r["value"], detail["criteria"], detail["evidence"], detail["required"],
                             detail["threshold"], detail["missing"]),
            Growth(detail["growth"]["criteria"], detail["growth"]["competency"]), detail["missed"], r["last_work"],
            [c for c in concerns if (str(sid), cid, c.kind, c.cause) not in moment.dismissed])
    records: dict[uuid.UUID, Record] = {}
    for sid in student_ids:
        whole = [c for c in support.on_student(moment.flagged.get(str(sid), []), limits=limits)
                 if (str(sid), "", c.kind, c.cause) not in moment.dismissed]
        records[sid] = Record(sid, by_student.get(sid, {}), whole)
    return records


async def records_of(session: AsyncSession, student_ids: list[uuid.UUID], settings, *,
                     school_choice: dict | None = None, today: date | None = None) -> dict[uuid.UUID, Record]:
    """Every listed student's record. Students looked at together (a class, a school) are each
    other's context: "no evidence in X weeks" is raised only while the others have some."""
    now = datetime.now(UTC)
    today = today or now.date()
    rows, definitions, _ = await _fresh(session, student_ids, settings, school_choice, today)
    moment = await _moment(session, student_ids, settings, now)
    if len(rows) < 1_000:
        return _records(rows, definitions, student_ids, moment, settings, today)
    return await offload.in_thread(_records, rows, definitions, student_ids, moment, settings, today)


async def record_of(session: AsyncSession, student_id: uuid.UUID, settings, today: date | None = None,
                    school_choice: dict | None = None) -> dict[str, CompetencyStatus]:
    """Every competency with ratings: its status by its method."""
    records = await records_of(session, [student_id], settings, school_choice=school_choice, today=today)
    return {cid: s.status for cid, s in records[student_id].competencies.items()}


# --- What a teacher writes ------------------------------------------------------------------

async def log_ratings(session: AsyncSession, teacher: User, entry: NewRatings, *,
                      idempotency_key: str | None = None) -> list[Rating]:
    """A demonstration Beacon could not read (a performance, a lab observed, a conference), a
    missed criterion, an override, a baseline or a correction: one rating per student and
    criterion, for students the teacher teaches (anyone else: NotFound, nothing written).

    ``idempotency_key``: the client's name for this entry. Sent again (a retry after a lost
    answer), the same entry writes nothing and returns the ratings already written; another
    entry under the same key is a Conflict."""
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
    def rating_id(student_id, criterion_id):
        return stable_id(teacher.id, "ratings", idempotency_key, student_id, criterion_id) if idempotency_key else uuid.uuid4()

    if idempotency_key:
        earlier = await repository.ratings_by_ids(
            session, [rating_id(sid, r.criterion_id) for sid in entry.student_ids for r in entry.ratings])
        if earlier:
            same = len(earlier) == len(entry.student_ids) * len(entry.ratings) and all(
                (e.level, e.work_date, e.source, e.competency_id) == (
                    0 if lv is None else lv, entry.work_date, entry.source, entry.competency_id)
                for e, lv in zip(earlier, [r.level for _ in entry.student_ids for r in entry.ratings], strict=True))
            if not same:
                raise Conflict("this Idempotency-Key was already used for another entry")
            return earlier
    values = [
        {"id": rating_id(student_id, r.criterion_id), "student_id": student_id, "competency_id": entry.competency_id,
         "rubric_version_id": version.id, "criterion_id": r.criterion_id, "level": 0 if r.level is None else r.level,
         "work_date": entry.work_date, "source": entry.source, "note": entry.note or None,
         "artifact_url": str(entry.artifact_url) if entry.artifact_url else None, "rated_by": teacher.id,
         "supersedes_id": entry.supersedes_id, "evidence": []}
        for student_id in entry.student_ids for r in entry.ratings]
    # One statement for the whole entry: the standings trigger then marks each student's once.
    await repository.add_ratings(session, values)
    rows = [Rating(**v) for v in values]
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
    """Counted from the stored standings' summaries (no JSON decoded, no Standing built): a
    school's worth of students in one read."""
    now = datetime.now(UTC)
    today = today or now.date()
    students = await repository.students_of_school(session, school_id)
    ids = [s.id for s in students]
    rows, definitions, _ = await _fresh(session, ids, settings, school_choice, today, detail=False)
    moment = await _moment(session, ids, settings, now)
    limits = support.Thresholds.of(settings)
    class_latest = _class_latest(rows) if len(ids) > 1 else {}
    by_competency: dict[str, dict] = {}
    flags: dict[uuid.UUID, int] = defaultdict(int)
    names = {sid: str(sid) for sid in ids}
    dismissed_of = {name for name, *_ in moment.dismissed}
    for r in rows:
        sid, cid = r["student_id"], r["competency_id"]
        counts = by_competency.setdefault(cid, {"title": definitions[cid]["title"], "not_started": 0, "emerging": 0,
                                                "approaching": 0, "met": 0, "support": 0})
        counts[r["status"]] += 1
        kinds = [tuple(f.split(" ", 1)) for f in r["flags"]]
        kinds += [(c.kind, c.cause) for c in _now(r, definitions[cid], moment, limits, class_latest, today)]
        name = names[sid]
        shown = (sum((name, cid, kind, cause) not in moment.dismissed for kind, cause in kinds)
                 if name in dismissed_of else len(kinds))
        counts["support"] += bool(shown)
        flags[sid] += shown
    for sid in ids:
        flags[sid] += sum((str(sid), "", c.kind, c.cause) not in moment.dismissed
                          for c in support.on_student(moment.flagged.get(str(sid), []), limits=limits))
    for counts in by_competency.values():
        counts["not_started"] = len(students) - counts["emerging"] - counts["approaching"] - counts["met"]
    flagged = sorted(((s, flags[s.id]) for s in students if flags[s.id]), key=lambda pair: -pair[1])
    return Overview(len(students), dict(sorted(by_competency.items())), flagged[:top])
