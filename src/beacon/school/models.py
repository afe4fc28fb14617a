"""The school's people and structure: schools, classes, users, student profiles, assignments."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    literal_column,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from beacon.db.base import Base, created_at, uuid_pk

ROLES = ("teacher", "student", "coach", "admin", "guardian")


class School(Base):
    __tablename__ = "schools"

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # School-wide choices, e.g. {"score_language": false}: feedback is not a grade unless turned on.
    settings: Mapped[dict] = mapped_column(JSONB, server_default="{}", default=dict)
    created_at: Mapped[datetime] = created_at()


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES}", name="role_known"),
        # Target of composite foreign keys that pin a row to a user *in a given role*
        # (a decision can only be made by a teacher: enforced by the schema).
        UniqueConstraint("id", "role", name="uq_users_id_role"),
        Index("uq_users_email_lower", func.lower(literal_column("email")), unique=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(Text)
    # The person's own language for the interface (a guardian's may differ from their child's);
    # a student's is their profile's.
    preferred_language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_at()


class SchoolClass(Base):
    """A class (section) in a school: a teacher or more, and students."""

    __tablename__ = "classes"
    __table_args__ = (UniqueConstraint("school_id", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at()


class Enrollment(Base):
    """Membership of a user in a class, as its teacher or as a student."""

    __tablename__ = "enrollments"
    __table_args__ = (CheckConstraint("role_in_class IN ('teacher', 'student')", name="role_in_class"),)

    class_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role_in_class: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_at()


class StudentProfile(Base):
    __tablename__ = "student_profiles"
    __table_args__ = (CheckConstraint("grade BETWEEN 0 AND 13", name="grade_range"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    grade: Mapped[int] = mapped_column(Integer)
    interests: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}", default=list)
    preferred_language: Mapped[str] = mapped_column(String(16), server_default="en", default="en")


class Assignment(Base):
    __tablename__ = "assignments"

    id: Mapped[uuid.UUID] = uuid_pk()
    class_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    instructions: Mapped[str] = mapped_column(Text, server_default="", default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A started project is one student's own assignment, from an approved (released) proposal.
    student_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    source_release_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("releases.id", ondelete="SET NULL", use_alter=True)  # releases → drafts → ... → assignments
    )
    created_at: Mapped[datetime] = created_at()


class AssignmentCompetency(Base):
    """The competencies an assignment gives evidence of; they narrow rubric retrieval."""

    __tablename__ = "assignment_competencies"

    assignment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("assignments.id", ondelete="CASCADE"), primary_key=True
    )
    competency_id: Mapped[str] = mapped_column(
        ForeignKey("competencies.id", ondelete="RESTRICT"), primary_key=True
    )


class UserSession(Base):
    """A signed-in session (a page cookie or an API token carries its id): signing out, or an
    admin resetting the password, revokes it on the server, whatever the client kept."""

    __tablename__ = "user_sessions"
    __table_args__ = (CheckConstraint("kind IN ('cookie', 'token')", name="kind_known"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignInThrottle(Base):
    """Failed sign-ins per account (its email) and per address, in the database so the limit
    holds across every replica: past the limit, a lock that doubles with each further failure."""

    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    window_started_at: Mapped[datetime] = created_at()
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Guardianship(Base):
    """A guardian linked to a student: they read that student's released feedback, progress and
    reports, never a draft and never another child's. The schema pins both roles (composite
    foreign keys on ``users (id, role)``), so no link can point at a teacher or from a student."""

    __tablename__ = "guardianships"
    __table_args__ = (
        CheckConstraint("guardian_role = 'guardian'", name="links_a_guardian"),
        CheckConstraint("student_role = 'student'", name="to_a_student"),
        ForeignKeyConstraint(["guardian_id", "guardian_role"], ["users.id", "users.role"], ondelete="CASCADE"),
        ForeignKeyConstraint(["student_id", "student_role"], ["users.id", "users.role"], ondelete="CASCADE"),
    )

    guardian_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    student_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    guardian_role: Mapped[str] = mapped_column(String(16), server_default="guardian", default="guardian")
    student_role: Mapped[str] = mapped_column(String(16), server_default="student", default="student")
    linked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at()


class GuardianInvitation(Base):
    """A teacher's invitation to a student's family member, by email: accepting it (once, before
    ``expires_at``) links the guardian to the child. The link is the signed id of this row
    (school/invitations.py): nothing secret is stored."""

    __tablename__ = "guardian_invitations"
    __table_args__ = (
        CheckConstraint("char_length(email) BETWEEN 3 AND 320 AND position('@' in email) > 1", name="email_shape"),
        CheckConstraint("expires_at > created_at", name="expires_after_made"),
        CheckConstraint("accepted_at IS NULL OR revoked_at IS NULL", name="closed_once"),
        CheckConstraint("accepted_by IS NULL OR accepted_at IS NOT NULL", name="accepted_by_when_accepted"),
        CheckConstraint("revoked_by IS NULL OR revoked_at IS NOT NULL", name="revoked_by_when_revoked"),
        Index("uq_guardian_invitations_one_open", "student_id", func.lower(literal_column("email")), unique=True,
              postgresql_where=literal_column("accepted_at IS NULL AND revoked_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    school_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"))
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    invited_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(320))
    preferred_language: Mapped[str] = mapped_column(String(16), server_default="en", default="en")
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
