"""Running the feedback graph: to the teacher's review stop, and on with a teacher's decision.

The checkpointer is LangGraph's Postgres saver on Beacon's own database (or an in-memory one in
tests), so a thread started by one process is resumed by any other."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from langgraph.types import Command

from beacon.feedback.graph import FeedbackDeps, build_graph, thread_id
from beacon.feedback.schemas import ReviewPayload, TeacherDecision

# Checkpoints are written while the next node runs, not before it starts: a crash can lose at
# most the step in flight, which re-runs (every node is idempotent).
DURABILITY = "async"


@asynccontextmanager
async def postgres_checkpointer(url: str) -> AsyncIterator[object]:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    async with AsyncConnectionPool(
        url, min_size=1, max_size=4, open=False,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    ) as pool:
        saver = AsyncPostgresSaver(pool)
        await saver.setup()  # LangGraph's own tables; idempotent
        yield saver


class FeedbackWorkflow:
    def __init__(self, deps: FeedbackDeps, checkpointer) -> None:
        self.deps = deps
        self.graph = build_graph(deps, checkpointer)

    @staticmethod
    def _config(submission_id: str | uuid.UUID) -> dict:
        return {"configurable": {"thread_id": thread_id(submission_id)}}

    async def pending_review(self, submission_id: str | uuid.UUID) -> ReviewPayload | None:
        snapshot = await self.graph.aget_state(self._config(submission_id))
        for task in snapshot.tasks:
            for pending in task.interrupts:
                return ReviewPayload.model_validate(pending.value)
        return None

    async def run_to_review(self, submission_id: str | uuid.UUID, rubric_id: str | None = None) -> ReviewPayload | None:
        """Start the thread, or continue it from its last checkpoint (a crashed or retried job),
        until the teacher-review stop. Idempotent: a thread already waiting is left as it is."""
        config = self._config(submission_id)
        snapshot = await self.graph.aget_state(config)
        if snapshot.values:
            waiting = await self.pending_review(submission_id)
            if waiting is not None or not snapshot.next:
                return waiting  # already at the review stop, or finished
            await self.graph.ainvoke(None, config, durability=DURABILITY)
        else:
            await self.graph.ainvoke(
                {"submission_id": str(submission_id), "rubric_id": rubric_id}, config, durability=DURABILITY
            )
        return await self.pending_review(submission_id)

    async def decide(self, submission_id: str | uuid.UUID, decision: TeacherDecision) -> ReviewPayload | None:
        """Resume with the teacher's decision. Returns the next review payload after a
        regeneration, or None once the thread has ended (approved or rejected)."""
        await self.graph.ainvoke(
            Command(resume=decision.model_dump(mode="json")), self._config(submission_id), durability=DURABILITY
        )
        return await self.pending_review(submission_id)
