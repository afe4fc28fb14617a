"""Running a reviewable LangGraph workflow (feedback, projects): to the teacher's review stop,
and on with a teacher's decision. One thread per item, keyed by the item's id.

The checkpointer is LangGraph's Postgres saver on Beacon's own database (or an in-memory one in
tests), so a thread started by one process is resumed by any other."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

from langgraph.types import Command
from pydantic import BaseModel

# Checkpoint when a run stops (at the review interrupt, at the end, or on an error such as a
# provider outage), not after every node: a third of a draft's overhead otherwise. A crash
# mid-run re-runs the thread from its last stop, which is safe because every node is idempotent.
DURABILITY = "exit"

Payload = TypeVar("Payload", bound=BaseModel)


@asynccontextmanager
async def postgres_checkpointer(url: str) -> AsyncIterator[object]:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    async with AsyncConnectionPool(
        url, min_size=2, max_size=10, open=False,  # every decision reads and writes a checkpoint
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    ) as pool:
        saver = AsyncPostgresSaver(pool)
        await saver.setup()  # LangGraph's own tables; idempotent
        yield saver


class ReviewThreads(Generic[Payload]):
    """A compiled graph whose threads stop at an ``interrupt(payload)`` for the teacher."""

    def __init__(self, graph, thread_id: Callable[[str | uuid.UUID], str], payload: type[Payload], checkpointer) -> None:
        self.graph = graph
        self.thread_id = thread_id
        self.payload = payload
        self.checkpointer = checkpointer

    def _config(self, key: str | uuid.UUID) -> dict:
        return {"configurable": {"thread_id": self.thread_id(key)}}

    async def pending_review(self, key: str | uuid.UUID) -> Payload | None:
        snapshot = await self.graph.aget_state(self._config(key))
        for task in snapshot.tasks:
            for pending in task.interrupts:
                return self.payload.model_validate(pending.value)
        return None

    async def _run_to_review(self, key: str | uuid.UUID, start: dict) -> Payload | None:
        """Start the thread, or continue it from its last checkpoint (a crashed or retried job),
        until the teacher-review stop. Idempotent: a thread already waiting is left as it is."""
        config = self._config(key)
        snapshot = await self.graph.aget_state(config)
        if snapshot.values:
            waiting = await self.pending_review(key)
            if waiting is not None or not snapshot.next:
                return waiting  # already at the review stop, or finished
            result = await self.graph.ainvoke(None, config, durability=DURABILITY)
        else:
            result = await self.graph.ainvoke(start, config, durability=DURABILITY)
        return self._interrupt_payload(result)

    async def finish_interrupted(self, key: str | uuid.UUID) -> bool:
        """A thread that took a decision but failed while applying it (a database fault, a
        crash) is neither waiting nor done: run it on from its checkpoint. True if it was."""
        snapshot = await self.graph.aget_state(self._config(key))
        if not snapshot.next or any(task.interrupts for task in snapshot.tasks):
            return False
        await self.graph.ainvoke(None, self._config(key), durability=DURABILITY)
        return True

    async def decide_on(self, key: str | uuid.UUID, draft_id: uuid.UUID, decision: BaseModel) -> Payload | None:
        """Resume the thread with a decision on ``draft_id``, if that is the draft it waits on
        (after finishing any decision a fault interrupted)."""
        from beacon.errors import InvalidInput

        waiting = await self.pending_review(key)
        if waiting is None and await self.finish_interrupted(key):
            waiting = await self.pending_review(key)
            if waiting is None or waiting.draft_id != str(draft_id):
                raise InvalidInput(f"draft {draft_id} was already decided: the earlier decision, cut short "
                                   "by a fault, has now been applied")
        if waiting is None or waiting.draft_id != str(draft_id):
            raise InvalidInput(f"draft {draft_id} is not the one waiting for review")
        from beacon.llm.client import ModelUnavailable

        try:
            return await self.decide(key, decision)
        except ModelUnavailable:
            # The decision is recorded; only the regeneration could not be drafted now. A job
            # continues the thread from its checkpoint when the model is back: nothing is lost.
            await self.requeue(key)
            return None

    # What each workflow says about the item its threads work on (a submission, a request).
    job_task: str
    busy_statuses: tuple[str, ...]  # the item's statuses while its job has not finished

    async def work_item(self, session, key: str | uuid.UUID):
        """The row whose status tells people where the work stands."""
        raise NotImplementedError

    def job_args(self, key: str | uuid.UUID) -> dict:
        raise NotImplementedError

    async def requeue(self, key: str | uuid.UUID) -> None:
        """Queue the job that continues this thread (its queueing lock is the thread id)."""
        from beacon.jobs import defer_in

        async with self.deps.db.transaction() as session:
            await defer_in(session, self.job_task, self.thread_id(key), **self.job_args(key))
            item = await self.work_item(session, key)
            if item is not None:
                item.status = "queued"

    async def mark_waiting(self, key: str | uuid.UUID, status: str) -> None:
        """After a failed job attempt: "queued" (a retry is scheduled) or "failed" (no more)."""
        async with self.deps.db.transaction() as session:
            item = await self.work_item(session, key)
            if item is not None and item.status in self.busy_statuses:
                item.status = status

    async def decide(self, key: str | uuid.UUID, decision: BaseModel) -> Payload | None:
        """Resume with the teacher's decision. Returns the next review payload after a
        regeneration, or None once the thread has ended (approved or rejected)."""
        result = await self.graph.ainvoke(
            Command(resume=decision.model_dump(mode="json")), self._config(key), durability=DURABILITY
        )
        return self._interrupt_payload(result)

    def _interrupt_payload(self, result: dict) -> Payload | None:
        """The review payload a run stopped at (LangGraph returns pending interrupts with the state)."""
        for pending in result.get("__interrupt__", ()):
            return self.payload.model_validate(pending.value)
        return None
