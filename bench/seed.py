"""What the benches share: ratings loaded in bulk, one statement per batch, its columns as arrays
(the standings trigger fires once per statement, as for an entry the app writes)."""

from __future__ import annotations

import json

from sqlalchemy import text

# Each ratings column a bench may fill, with its PostgreSQL type for the array it is sent as.
TYPES = {"id": "uuid", "student_id": "uuid", "competency_id": "text", "rubric_version_id": "int",
         "criterion_id": "text", "level": "int", "work_date": "date", "source": "text", "note": "text",
         "artifact_url": "text", "rated_by": "uuid", "evidence": "jsonb"}


async def insert_ratings(session, rows: list[dict]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ratings in one statement."""
    if not rows:
        return
    columns = list(rows[0])
    arrays = ", ".join(f"CAST(:{c} AS {TYPES[c]}[])" for c in columns)
    await session.execute(text(f"INSERT INTO ratings ({', '.join(columns)}) SELECT * FROM unnest({arrays})"),
                          {c: [_value(r[c], TYPES[c]) for r in rows] for c in columns})


def _value(value, kind: str):
    # A jsonb array element goes as its JSON text.
    return json.dumps(value) if kind == "jsonb" and not isinstance(value, str) else value
