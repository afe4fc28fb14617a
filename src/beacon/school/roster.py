"""Roster import: a school's people, classes, enrollments and families from a OneRoster 1.1 CSV
export (``users.csv``; ``classes.csv`` and ``enrollments.csv`` optional), the files a student
information system already makes.

``parse`` (pure, run in a thread) → a ``Plan`` → ``check`` against the school (emails, roles,
other schools) → ``apply`` through the same audited services as an admin's own changes. All or
nothing: any problem in any row and nothing is written (the request owns the transaction).

- People are matched by email (case-insensitive), classes by title within the admin's school.
  A matched person takes the export's name, grade (a student's) and language (where the row
  gives one): "updated", audited; otherwise "unchanged", so importing the same files twice
  changes nothing. Nothing is deleted: a ``tobedeleted`` row is reported, never acted on.
- Roles: student, teacher; guardian, parent and relative are guardians. Administrators are
  skipped with a note: an admin's powers are given by hand, not by whatever an export says.
  Aides and proctors are skipped too (Beacon has no such role), and so is a user with
  ``enabledUser=false`` (or OneRoster 1.0's ``inactive``).
- Families: ``agentSourcedIds`` on a student's row (their guardians) or a guardian's (their
  students), as OneRoster allows either.
- No password is imported (an SIS export's is not one to trust): an imported person has no
  password until an admin sets one, as for anyone added without one; a family chooses theirs
  through a teacher's invitation (school/invitations.py claims the account).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from beacon.db.audit import add_audit
from beacon.errors import InvalidInput
from beacon.offload import in_thread
from beacon.school import repository, service
from beacon.school.models import User
from beacon.school.schemas import NewClass, NewPerson
from beacon.text import unstorable

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_ERRORS = 200  # a wholly wrong file would list every line: the first ones say enough
MAX_NOTES = 100
FILES = ("users", "classes", "enrollments")

ROLES = {"student": "student", "teacher": "teacher", "guardian": "guardian", "parent": "guardian",
         "relative": "guardian"}
SKIPPED_ROLES = {"administrator": "add admins by hand in Beacon", "aide": "Beacon has no aides",
                 "proctor": "Beacon has no proctors"}
# OneRoster grade codes before grade 1: Beacon's grade 0.
EARLY_GRADES = {"IT", "PR", "PK", "TK", "KG", "PS"}
LANGUAGE_COLUMNS = ("metadata.preferredlanguage", "metadata.preferred_language")

REQUIRED = {
    "users": ("sourcedId", "role", "email", "givenName", "familyName"),
    "classes": ("sourcedId", "title"),
    "enrollments": ("classSourcedId", "userSourcedId", "role"),
}
READ = {
    "users": REQUIRED["users"] + ("status", "enabledUser", "agentSourcedIds", "grades") + LANGUAGE_COLUMNS,
    "classes": REQUIRED["classes"] + ("status", "subjects"),
    "enrollments": REQUIRED["enrollments"] + ("status",),
}


@dataclass(frozen=True)
class LineError:
    file: str
    line: int | None  # 1 is the header row; None: the file as a whole
    field: str | None
    message: str


class RosterInvalid(InvalidInput):
    """Problems in the files: each with its file, line and field. Nothing was written."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(f"the roster has {len(errors)} problem{'s' if len(errors) != 1 else ''}: nothing was imported")
        self.errors = errors[:MAX_ERRORS]
        self.more = max(0, len(errors) - MAX_ERRORS)

    def as_dict(self) -> dict:
        return {"message": str(self), "errors": [asdict(e) for e in self.errors], "more": self.more}


@dataclass
class Person:
    line: int
    new: NewPerson
    language_given: bool = False  # a row without a language leaves a matched person's as it is


@dataclass
class Plan:
    """What the files say, checked on their own: people and classes by sourcedId, and the pairs
    between them."""

    people: dict[str, Person] = field(default_factory=dict)
    classes: dict[str, NewClass] = field(default_factory=dict)
    enrollments: dict[tuple[str, str], str] = field(default_factory=dict)  # (class, user) → role
    links: set[tuple[str, str]] = field(default_factory=set)  # (guardian, student)
    notes: list[str] = field(default_factory=list)


# --- Reading the files ------------------------------------------------------------------------

def _read(name: str, raw: bytes, errors: list[LineError]) -> list[tuple[int, dict[str, str]]]:
    """(line, {column: value}) for every non-blank row; headers by name, case-insensitive, any
    other column ignored. The csv module reads in one pass: linear in the file's size."""
    if len(raw) > MAX_FILE_BYTES:
        errors.append(LineError(f"{name}.csv", None, None, f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB"))
        return []
    try:
        text = raw.decode("utf-8-sig")  # Excel's exports start with a byte-order mark
    except UnicodeDecodeError:
        errors.append(LineError(f"{name}.csv", None, None, "not UTF-8 text: export it as UTF-8 CSV"))
        return []
    if unstorable(text):
        errors.append(LineError(f"{name}.csv", None, None, "contains a NUL or an invalid character"))
        return []
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        header = next(reader, [])
        columns: dict[str, int] = {}
        for i, title in enumerate(header):
            columns.setdefault(title.strip().lower(), i)
        missing = [c for c in REQUIRED[name] if c.lower() not in columns]
        for column in missing:
            errors.append(LineError(f"{name}.csv", 1, column, "missing column"))
        if missing:
            return []
        wanted = [(c, columns[c.lower()]) for c in READ[name] if c.lower() in columns]
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(rows) == MAX_ROWS:
                errors.append(LineError(f"{name}.csv", reader.line_num, None,
                                        f"more than {MAX_ROWS} rows: split the file"))
                return []
            rows.append((reader.line_num, {c: row[i].strip() if i < len(row) else "" for c, i in wanted}))
    except csv.Error as exc:  # an overlong field, a stray quote
        errors.append(LineError(f"{name}.csv", reader.line_num, None, f"not readable as CSV: {exc}"))
        return []
    return rows


def _grade(text: str) -> int | None:
    first = text.split(",")[0].strip().upper()
    if first in EARLY_GRADES:
        return 0
    if first.isascii() and first.isdigit() and len(first) <= 2 and int(first) <= 13:
        return int(first)
    return None


def _language(row: dict[str, str]) -> str | None:
    given = next((row[c] for c in LANGUAGE_COLUMNS if row.get(c)), "en")
    code = given.replace("_", "-").split("-")[0].lower()
    return code if code in ("en", "es") else None


def _id_problem(source_id: str, seen) -> str | None:
    """What is wrong with a row's sourcedId (missing, too long, or an earlier row's), if anything."""
    if not source_id or len(source_id) > 255:
        return "needs an id of at most 255 characters"
    if any(source_id in earlier for earlier in seen):
        return f"{source_id!r} appears twice"
    return None


def _list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


# NewPerson's fields as the columns they came from.
_USER_COLUMN = {"full_name": "givenName/familyName", "email": "email", "grade": "grades", "role": "role",
                "preferred_language": "metadata.preferredLanguage"}


def _problems(file: str, line: int, exc: ValidationError, columns: dict[str, str]) -> list[LineError]:
    found = []
    for problem in exc.errors():
        where = str(problem["loc"][0]) if problem["loc"] else ""
        message = "not a valid email address" if where == "email" and problem["type"] == "string_pattern_mismatch" \
            else problem["msg"]
        found.append(LineError(file, line, columns.get(where, where or None), message))
    return found


def parse(users: bytes, classes: bytes | None = None, enrollments: bytes | None = None) -> Plan:
    """The plan the files describe, or ``RosterInvalid`` with every problem found. Pure: no
    database (run it off the event loop: ``parse_off_loop``)."""
    errors: list[LineError] = []
    plan = Plan()
    skipped: set[str] = set()  # sourcedIds a reference to is ignored, not an error
    agents: dict[str, tuple[int, list[str]]] = {}
    emails: dict[str, int] = {}
    named: set[str] = set()  # every id a row has, valid or not: a row in error is reported once, not per reference

    for line, row in _read("users", users, errors):
        where = f"users.csv line {line}"
        source_id, role, status = row["sourcedId"], row["role"].lower(), row.get("status", "").lower()
        named.add(source_id)
        if problem := _id_problem(source_id, (plan.people, skipped)):
            errors.append(LineError("users.csv", line, "sourcedId", problem))
            continue
        if status not in ("", "active", "inactive", "tobedeleted"):
            errors.append(LineError("users.csv", line, "status", "must be active or tobedeleted"))
            continue
        disabled = status == "inactive" or row.get("enabledUser", "").lower() == "false"
        if status == "tobedeleted" or disabled or role in SKIPPED_ROLES:
            skipped.add(source_id)
            why = ("marked tobedeleted: Beacon deletes no one, remove them by hand if they left"
                   if status == "tobedeleted" else "not enabled" if role not in SKIPPED_ROLES
                   else f"{role}: {SKIPPED_ROLES[role]}")
            plan.notes.append(f"{where}: {source_id} skipped ({why})")
            continue
        if role not in ROLES:
            errors.append(LineError("users.csv", line, "role", f"unknown role {row['role'][:40]!r}"))
            continue
        grade = _grade(row.get("grades", "")) if ROLES[role] == "student" else None
        if ROLES[role] == "student" and grade is None:
            errors.append(LineError("users.csv", line, "grades", "a student needs a grade (KG or 01-13)"))
            continue
        language = _language(row)
        if language is None:
            errors.append(LineError("users.csv", line, "metadata.preferredLanguage", "must be en or es"))
            continue
        try:
            new = NewPerson(full_name=" ".join(p for p in (row["givenName"], row["familyName"]) if p),
                            email=row["email"], role=ROLES[role], grade=grade, preferred_language=language)
        except ValidationError as exc:
            errors.extend(_problems("users.csv", line, exc, _USER_COLUMN))
            continue
        if (earlier := emails.setdefault(new.email.lower(), line)) != line:
            errors.append(LineError("users.csv", line, "email", f"also on line {earlier}"))
            continue
        plan.people[source_id] = Person(line, new, any(row.get(c) for c in LANGUAGE_COLUMNS))
        if ids := _list(row.get("agentSourcedIds", "")):
            agents[source_id] = (line, ids)

    for source_id, (line, ids) in agents.items():
        me = plan.people[source_id].new.role
        for agent in ids:
            if agent in skipped or (agent in named and agent not in plan.people):
                continue
            if agent not in plan.people:
                errors.append(LineError("users.csv", line, "agentSourcedIds", f"no user {agent[:80]!r} in users.csv"))
                continue
            theirs = plan.people[agent].new.role
            if {me, theirs} == {"student", "guardian"}:
                plan.links.add((source_id, agent) if me == "guardian" else (agent, source_id))
            elif me in ("student", "guardian"):  # a teacher's agents mean nothing to Beacon
                errors.append(LineError("users.csv", line, "agentSourcedIds",
                                        f"{agent[:80]} is a {theirs}: a {me}'s agents are their "
                                        f"{'guardians' if me == 'student' else 'students'}"))

    skipped_classes: set[str] = set()
    titles: dict[str, int] = {}
    for line, row in _read("classes", classes, errors) if classes is not None else []:
        source_id, status = row["sourcedId"], row.get("status", "").lower()
        named.add(f"class:{source_id}")
        if problem := _id_problem(source_id, (plan.classes, skipped_classes)):
            errors.append(LineError("classes.csv", line, "sourcedId", problem))
            continue
        if status == "tobedeleted":
            skipped_classes.add(source_id)
            plan.notes.append(f"classes.csv line {line}: {row['title'][:200]} skipped (marked tobedeleted: "
                              "Beacon deletes no class)")
            continue
        try:
            new = NewClass(name=row["title"], subject=(_list(row.get("subjects", "")) or [None])[0])
        except ValidationError as exc:
            errors.extend(_problems("classes.csv", line, exc, {"name": "title", "subject": "subjects"}))
            continue
        if (earlier := titles.setdefault(new.name, line)) != line:
            errors.append(LineError("classes.csv", line, "title", f"another class on line {earlier} has this title"))
            continue
        plan.classes[source_id] = new

    if enrollments is not None and classes is None:
        errors.append(LineError("enrollments.csv", None, None, "send classes.csv with enrollments.csv"))
        enrollments = None
    left_out = 0
    for line, row in _read("enrollments", enrollments, errors) if enrollments is not None else []:
        class_id, user_id, role = row["classSourcedId"], row["userSourcedId"], row["role"].lower()
        if row.get("status", "").lower() == "tobedeleted":
            plan.notes.append(f"enrollments.csv line {line}: skipped (marked tobedeleted: Beacon takes no one "
                              "out of a class)")
            continue
        if role in SKIPPED_ROLES or class_id in skipped_classes or user_id in skipped:
            left_out += 1
            continue
        if (f"class:{class_id}" in named and class_id not in plan.classes) or (
                user_id in named and user_id not in plan.people):
            continue  # its class's or person's own row is in error: reported there
        if role not in ("student", "teacher"):
            errors.append(LineError("enrollments.csv", line, "role", f"unknown role {row['role'][:40]!r}"))
            continue
        if class_id not in plan.classes:
            errors.append(LineError("enrollments.csv", line, "classSourcedId", f"no class {class_id[:80]!r} in classes.csv"))
            continue
        if user_id not in plan.people:
            errors.append(LineError("enrollments.csv", line, "userSourcedId", f"no user {user_id[:80]!r} in users.csv"))
            continue
        # Scope follows class roles (a teacher reviews their classes' students): keep them true.
        if (theirs := plan.people[user_id].new.role) != role:
            errors.append(LineError("enrollments.csv", line, "role", f"{user_id[:80]} is a {theirs} in users.csv"))
            continue
        plan.enrollments[(class_id, user_id)] = role
    if left_out:
        plan.notes.append(f"enrollments.csv: {left_out} enrollment{'s' if left_out != 1 else ''} of skipped "
                          "people, classes or roles left out")

    if errors:
        raise RosterInvalid(errors)
    return plan


async def parse_off_loop(files: dict[str, bytes | None]) -> Plan:
    """``parse`` in a bounded thread: 6 MB of CSV is a moment of CPU no other request should wait on."""
    return await in_thread(parse, files.get("users") or b"", files.get("classes"), files.get("enrollments"))


# --- Checking against the school, then applying ----------------------------------------------

def _a(role: str) -> str:
    return f"an {role}" if role[0] in "aeiou" else f"a {role}"


def _counts() -> dict[str, int]:
    return {"added": 0, "unchanged": 0}


async def _changes(session: AsyncSession, there: User, person: Person) -> dict:
    """What the export says differently about a person Beacon has: their name, a student's grade
    (the year rolls over in the SIS first) and, where the row gives one, their language."""
    new, changes = person.new, {}
    if " ".join(there.full_name.split()) != " ".join(new.full_name.split()):
        changes["full_name"] = new.full_name
    profile = await repository.profile(session, there.id) if there.role == "student" else None
    if profile is not None and new.grade is not None and profile.grade != new.grade:
        changes["grade"] = new.grade
    if person.language_given:
        current = profile.preferred_language if profile is not None else there.preferred_language
        if current != new.preferred_language:
            changes["preferred_language"] = new.preferred_language
    return changes


async def apply(session: AsyncSession, admin: User, plan: Plan, *, dry_run: bool = False) -> dict:
    """Check the plan against the school and, unless ``dry_run``, make it so; the report either
    way. ``RosterInvalid`` (nothing written) when an email belongs to another school or to a
    person of another role. Every change is one of ``service``'s audited ones."""
    await repository.lock_roster(session, admin.school_id)
    found = await repository.users_by_emails(session, [p.new.email for p in plan.people.values()])
    errors = []
    for source_id, person in plan.people.items():
        there = found.get(person.new.email.lower())
        if there is not None and there.school_id != admin.school_id:
            errors.append(LineError("users.csv", person.line, "email", "has an account at another school"))
        elif there is not None and there.role != person.new.role:
            errors.append(LineError("users.csv", person.line, "role",
                                    f"{person.new.email} is {_a(there.role)} in Beacon, not {_a(person.new.role)}"))
    if errors:
        raise RosterInvalid(errors)

    report = {"dry_run": dry_run, "people": {r: _counts() | {"updated": 0} for r in ("teacher", "student", "guardian")},
              "classes": _counts(), "enrollments": _counts(), "guardian_links": _counts()}
    users: dict[str, User | None] = {}
    for source_id, person in plan.people.items():
        there = found.get(person.new.email.lower())
        changes = await _changes(session, there, person) if there else {}
        report["people"][person.new.role]["updated" if changes else "unchanged" if there else "added"] += 1
        if there is None and not dry_run:
            there = await service.add_person(session, admin, person.new, None)
        elif changes and not dry_run:
            await service.update_person(session, admin, there, **changes)
        users[source_id] = there  # None: would be added (a dry run)

    named = await repository.classes_by_names(session, admin.school_id, [c.name for c in plan.classes.values()])
    classes = {}
    for source_id, new in plan.classes.items():
        there = named.get(new.name)
        report["classes"]["unchanged" if there else "added"] += 1
        classes[source_id] = there if there or dry_run else await service.add_class(session, admin, new)

    for (class_id, user_id), role in plan.enrollments.items():
        klass, person = classes[class_id], users[user_id]
        if klass is not None and person is not None and await repository.enrollment(session, klass.id, person.id):
            report["enrollments"]["unchanged"] += 1
            continue
        report["enrollments"]["added"] += 1
        if not dry_run:
            await service.set_membership(session, admin, klass.id, person.id, role)

    for guardian_id, student_id in sorted(plan.links):
        guardian, student = users[guardian_id], users[student_id]
        if guardian is not None and student is not None and await repository.guardianship(session, guardian.id, student.id):
            report["guardian_links"]["unchanged"] += 1
            continue
        report["guardian_links"]["added"] += 1
        if not dry_run:
            await service.link_guardian(session, admin, guardian.id, student.id)

    notes = plan.notes[:MAX_NOTES]
    if len(plan.notes) > MAX_NOTES:
        notes.append(f"and {len(plan.notes) - MAX_NOTES} more notes")
    report["notes"] = notes
    if not dry_run:
        await add_audit(session, actor_id=admin.id, action="roster.imported", subject_type="school",
                        subject_id=str(admin.school_id), data={k: v for k, v in report.items() if k != "notes"}
                        | {"notes": len(plan.notes)})
    return report


async def import_roster(session: AsyncSession, admin: User, files: dict[str, bytes | None], *,
                        dry_run: bool = False) -> dict:
    """The files (``users`` required; ``classes``, ``enrollments``) parsed, checked and applied."""
    if not files.get("users"):
        raise RosterInvalid([LineError("users.csv", None, None, "attach users.csv")])
    return await apply(session, admin, await parse_off_loop(files), dry_run=dry_run)


async def read_uploads(form) -> tuple[dict[str, bytes | None], bool]:
    """The files of a multipart form (fields ``users``, ``classes``, ``enrollments``), each read to
    one byte past the limit (enough to refuse it), and whether it asks for a dry run."""
    from starlette.datastructures import UploadFile

    files: dict[str, bytes | None] = {}
    for name in FILES:
        upload = form.get(name)
        files[name] = await upload.read(MAX_FILE_BYTES + 1) if isinstance(upload, UploadFile) and upload.filename else None
    return files, str(form.get("dry_run") or "").lower() in ("true", "1", "on", "yes")
