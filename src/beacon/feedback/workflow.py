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

# Checkpoint when a run stops (at the review interrupt, at the end, or on an error such as a
# provider outage), not after every node: a third of a draft's overhead otherwise. A crash
# mid-run re-runs the thread from its last stop, which is safe because every node is idempotent.
DURABILITY = "exit"


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
            result = await self.graph.ainvoke(None, config, durability=DURABILITY)
        else:
            start = {"submission_id": str(submission_id), "rubric_id": rubric_id}
            result = await self.graph.ainvoke(start, config, durability=DURABILITY)
        return _interrupt_payload(result)

    async def decide(self, submission_id: str | uuid.UUID, decision: TeacherDecision) -> ReviewPayload | None:
        """Resume with the teacher's decision. Returns the next review payload after a
        regeneration, or None once the thread has ended (approved or rejected)."""
        result = await self.graph.ainvoke(
            Command(resume=decision.model_dump(mode="json")), self._config(submission_id), durability=DURABILITY
        )
        return _interrupt_payload(result)


def _interrupt_payload(result: dict) -> ReviewPayload | None:
    """The review payload a run stopped at (LangGraph returns pending interrupts with the state)."""
    for pending in result.get("__interrupt__", ()):
        return ReviewPayload.model_validate(pending.value)
    return None
