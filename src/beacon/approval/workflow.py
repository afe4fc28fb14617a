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

from beacon.approval.decisions import recorded

# Checkpoint when a run stops (at the review interrupt, at the end, or on an error such as a
# provider outage), not after every node: a third of a draft's overhead otherwise. A crash
# mid-run re-runs the thread from its last stop, which is safe because every node is idempotent.
DURABILITY = "exit"
# A thread settles in a few steps per recorded decision; this bounds a pathological loop.
MAX_STEPS = 50

Payload = TypeVar("Payload", bound=BaseModel)


async def prepare_checkpointer(url: str) -> None:
    """LangGraph's own tables, made or migrated (idempotent): as the schema's owner."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    async with AsyncPostgresSaver.from_conn_string(url) as saver:
        await saver.setup()


@asynccontextmanager
async def postgres_checkpointer(url: str) -> AsyncIterator[object]:
    """A checkpointer on its own pool; its tables were made by ``prepare_checkpointer``."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    async with AsyncConnectionPool(
        url, min_size=2, max_size=10, open=False,
        # A connection is checked when taken: after a database restart a stale one is replaced
        # instead of failing the job that drew it.
        check=AsyncConnectionPool.check_connection,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    ) as pool:
        yield AsyncPostgresSaver(pool)


class ReviewThreads(Generic[Payload]):
    """A compiled graph whose threads stop at an ``interrupt(payload)`` for the teacher."""

    def __init__(self, graph, thread_id: Callable[[str | uuid.UUID], str], payload: type[Payload], checkpointer,
                 context=None) -> None:
        self.graph = graph
        self.context = context  # each run's LangGraph context: the graph's dependencies
        self.thread_id = thread_id
        self.payload = payload
        self.checkpointer = checkpointer

    def _config(self, key: str | uuid.UUID) -> dict:
        return {"configurable": {"thread_id": self.thread_id(key)}}

    async def pending_review(self, key: str | uuid.UUID) -> Payload | None:
        return self._waiting(await self.graph.aget_state(self._config(key)))

    def _waiting(self, snapshot) -> Payload | None:
        for task in snapshot.tasks:
            for pending in task.interrupts:
                return self.payload.model_validate(pending.value)
        return None

    async def _run_to_review(self, key: str | uuid.UUID, start: dict) -> Payload | None:
        """Bring the thread in line with the database, then stop where a teacher must act.

        The draft rows and decisions are the truth; the thread follows them. So this starts the
        thread; continues one a crash cut short (its last checkpoint may be older than the rows
        its nodes already wrote: they re-run, insert-once, and take the rows as written); and
        resumes it with every decision a teacher recorded on the draft it waits on (a regeneration
        drafts again). Idempotent: a thread waiting on an undecided draft is left as it is.
        Returns that draft's review payload, or None once the work is finished."""
        config = self._config(key)
        snapshot = await self.graph.aget_state(config)
        waiting = self._waiting(snapshot)
        for _ in range(MAX_STEPS):
            if waiting is not None:
                decision = await self._recorded(uuid.UUID(waiting.draft_id))
                if decision is None:
                    return waiting
                result = await self.graph.ainvoke(Command(resume=decision), config, durability=DURABILITY, context=self.context)
            elif not snapshot.values:
                if await self._finished(key):
                    return None  # a pruned thread of finished work: nothing to redo
                result = await self.graph.ainvoke(start, config, durability=DURABILITY, context=self.context)
            elif snapshot.next:
                result = await self.graph.ainvoke(None, config, durability=DURABILITY, context=self.context)
            else:
                return None
            # A run that stops at the review stop says so itself; only otherwise read the state.
            waiting = next((self.payload.model_validate(p.value) for p in result.get("__interrupt__", ())), None)
            if waiting is None:
                snapshot = await self.graph.aget_state(config)
                waiting = self._waiting(snapshot)
        raise RuntimeError(f"thread {self.thread_id(key)} did not settle in {MAX_STEPS} steps")

    async def _recorded(self, draft_id: uuid.UUID) -> dict | None:
        """The decision a teacher took on this draft, as the thread resumes with it."""
        async with self.deps.db.transaction() as session:
            decision = await recorded(session, draft_id)
        if decision is None:
            return None
        return {"action": decision.action, "teacher_id": str(decision.teacher_id),
                "edited_content": decision.edited_content, "reason": decision.reason,
                "instructions": decision.instructions, "rubric_id": decision.rubric_id}

    async def _finished(self, key: str | uuid.UUID) -> bool:
        async with self.deps.db.transaction() as session:
            item = await self.work_item(session, key)
            return item is not None and item.status in ("released", "returned")

    # What each workflow says about the item its threads work on (a submission, a request).
    job_task: str
    busy_statuses: tuple[str, ...]  # the item's statuses while its job has not finished

    async def work_item(self, session, key: str | uuid.UUID):
        """The row whose status tells people where the work stands."""
        raise NotImplementedError

    async def mark_waiting(self, key: str | uuid.UUID, status: str) -> None:
        """After a failed job attempt: "queued" (a retry is scheduled) or "failed" (no more)."""
        async with self.deps.db.transaction() as session:
            item = await self.work_item(session, key)
            if item is not None and item.status in self.busy_statuses:
                item.status = status

    async def forget(self, key: str | uuid.UUID) -> None:
        """Delete the thread's checkpoints (finished work past its retention)."""
        await self.checkpointer.adelete_thread(self.thread_id(key))
