"""Run by test_record.py as its own process: approve a draft and stop dead (SIGKILL from the
test) after the release is written and before its ratings are. Not a test module."""

from __future__ import annotations

import asyncio
import sys
import uuid

from beacon.db.engine import open_database
from beacon.feedback.schemas import TeacherDecision
from beacon.mastery import service as mastery
from beacon.review import service as review


async def main(url: str, draft_id: str, teacher_id: str) -> None:
    async def release_written_then_wait(session, **kwargs):
        await session.flush()  # the release and the decision are in the database, uncommitted
        print("between", flush=True)
        await asyncio.sleep(120)  # the test kills the process here

    mastery.record_release = release_written_then_wait
    db = await open_database(url)
    await review.decide(db, uuid.UUID(draft_id), TeacherDecision(action="approve", teacher_id=teacher_id))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
