"""Drafting jobs are deferred in the submission's own transaction, once per submission."""

from __future__ import annotations

from sqlalchemy import select, text

from beacon.feedback.service import submit_for_feedback
from beacon.feedback.tasks import DRAFT_TASK, QUEUE, feedback_lock
from beacon.jobs import defer_in
from tests.factories import make_class


async def _jobs(session, submission_id) -> list:
    rows = await session.execute(
        text("SELECT task_name, status, args->>'submission_id' FROM procrastinate_jobs WHERE queueing_lock = :l"),
        {"l": feedback_lock(submission_id)},
    )
    return rows.all()


async def test_submission_and_job_are_one_unit(session):
    _, _, _, [student] = await make_class(session)
    savepoint = await session.begin_nested()
    stored = await submit_for_feedback(session, student_id=student.id, title="Essay", body="My claim is clear.")
    assert await _jobs(session, stored.id) == [(DRAFT_TASK, "todo", str(stored.id))]
    await savepoint.rollback()  # the request fails after submitting: neither row survives
    assert await _jobs(session, stored.id) == []


async def test_one_waiting_job_per_submission(session):
    _, _, _, [student] = await make_class(session)
    stored = await submit_for_feedback(session, student_id=student.id, title="Essay", body="My claim is clear.")
    again = await defer_in(session, DRAFT_TASK, feedback_lock(stored.id), queue=QUEUE, submission_id=str(stored.id))
    assert again is False
    assert len(await _jobs(session, stored.id)) == 1


# --- Faults: retried, recovered, never stranded ------------------------------------------

import asyncio  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import psycopg  # noqa: E402
import pytest  # noqa: E402
import sqlalchemy.exc  # noqa: E402
from procrastinate.jobs import Job  # noqa: E402

from beacon.approval.models import Draft  # noqa: E402
from beacon.feedback.models import Submission  # noqa: E402
from beacon.jobs import MAX_ATTEMPTS, recover_stalled, will_retry  # noqa: E402
from beacon.llm.client import ModelUnavailable  # noqa: E402
from beacon.review.maintenance import fail_stranded  # noqa: E402
from beacon.runtime import WorkerHealth, job_app, open_feedback, run_jobs, workflows_for  # noqa: E402
from tests.classroom import ESSAY  # noqa: E402


def _job(attempts: int) -> Job:
    return Job(id=1, queue="feedback", lock=None, queueing_lock=None, task_name="t", attempts=attempts)


@pytest.mark.parametrize("fault", [
    ModelUnavailable("provider down"), ConnectionResetError("reset"), psycopg.OperationalError("server closed"),
    sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("terminating connection")),
])
def test_passing_faults_are_retried_until_the_last_attempt_and_no_further(fault):
    assert will_retry(fault, _job(0)) and will_retry(fault, _job(MAX_ATTEMPTS - 1))
    assert not will_retry(fault, _job(MAX_ATTEMPTS))  # "failed" is said exactly when no attempt follows
    assert not will_retry(ValueError("a bug"), _job(0))


async def _only_todo(runtime, lock: str) -> list:
    async with runtime.db.transaction() as session:
        return (await session.execute(text("SELECT status, attempts FROM procrastinate_jobs WHERE queueing_lock = :l "
                                           "ORDER BY id"), {"l": lock})).all()


async def test_a_database_fault_mid_draft_is_retried_and_the_work_stays_queued(runtime, classroom, monkeypatch):
    from beacon.rubrics import service as rubric_service

    async with runtime.db.transaction() as session:
        sub = await submit_for_feedback(session, student_id=classroom.student_id, title="Essay", body=ESSAY)
    async with open_feedback(runtime) as workflow:
        real = rubric_service.match

        async def dropped(*args, **kwargs):
            raise sqlalchemy.exc.OperationalError("SELECT ...", {}, Exception("server closed the connection"))

        import beacon.feedback.graph as graph
        monkeypatch.setattr(graph, "match", dropped)
        await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
        async with runtime.db.transaction() as session:
            assert (await session.get(Submission, sub.id)).status == "queued"
        assert await _only_todo(runtime, feedback_lock(sub.id)) == [("todo", 1)]
        monkeypatch.setattr(graph, "match", real)
        async with runtime.db.transaction() as session:
            await session.execute(text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE queueing_lock = :l"),
                                  {"l": feedback_lock(sub.id)})
        await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
        assert (await workflow.pending_review(sub.id)) is not None
    assert await _only_todo(runtime, feedback_lock(sub.id)) == [("succeeded", 2)]  # two runs


async def test_work_whose_job_is_gone_is_marked_failed_and_can_be_tried_again(runtime, classroom):
    from beacon.review import service as review
    from beacon.school.models import User

    async with runtime.db.transaction() as session:
        sub = await submit_for_feedback(session, student_id=classroom.student_id, title="Essay", body=ESSAY)
        # Its last attempt ended while the database was away: the job failed, the status stayed.
        await session.execute(text("UPDATE procrastinate_jobs SET status = 'failed' WHERE queueing_lock = :l"),
                              {"l": feedback_lock(sub.id)})
        await session.execute(text("UPDATE submissions SET status = 'drafting', created_at = now() - interval "
                                   "'5 minutes' WHERE id = :id"), {"id": sub.id})
    assert await fail_stranded(runtime.db) >= 1
    async with runtime.db.transaction() as session:
        assert (await session.get(Submission, sub.id)).status == "failed"
        teacher = await session.get(User, classroom.teacher_id)
        outsider = await session.get(User, classroom.other_teacher_id)
        with pytest.raises(review.NotFound):
            await review.try_again(session, outsider, "feedback", sub.id)
        await review.try_again(session, teacher, "feedback", sub.id)
        with pytest.raises(review.Conflict, match="only work that failed"):
            await review.try_again(session, teacher, "feedback", sub.id)
    assert [s for s, _ in await _only_todo(runtime, feedback_lock(sub.id))] == ["failed", "todo"]
    async with open_feedback(runtime) as workflow:
        await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
        assert (await workflow.pending_review(sub.id)) is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SlowWorker:
    """A standalone ``beacon worker`` process drafting through a fake provider (its own process)
    that takes 30 s per call: a model call is always in flight when the test acts."""

    def __init__(self, **env: str) -> None:
        self.env = env

    def __enter__(self) -> subprocess.Popen:
        port = _free_port()
        root = Path(__file__).resolve().parents[1]
        self.provider = subprocess.Popen([sys.executable, str(root / "bench" / "fake_provider.py"), str(port), "30"],
                                         cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        env = {**os.environ, "BEACON_MODEL": "openai/slow-model", "BEACON_MODEL_API_BASE": f"http://127.0.0.1:{port}/v1",
               "OPENAI_API_KEY": "test", "BEACON_WORKER_CONCURRENCY": "1", "BEACON_MODEL_RETRIES": "0", **self.env}
        self.worker = subprocess.Popen([str(Path(sys.executable).with_name("beacon")), "worker"], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self.worker

    def __exit__(self, *exc) -> None:
        for process in (self.worker, self.provider):
            process.kill()
            process.wait(timeout=10)


async def _only_ours_waiting(runtime, lock: str) -> None:
    """The worker process must see only this test's job: other tests' leftovers (retries that come
    due later, on any of Beacon's queues) are taken out of the queue first."""
    async with runtime.db.transaction() as session:
        await session.execute(text("DELETE FROM procrastinate_jobs WHERE status = 'todo' AND queueing_lock IS DISTINCT FROM :l"),
                              {"l": lock})


async def _until_doing(runtime, lock: str) -> None:
    deadline = time.monotonic() + 60
    while (await _only_todo(runtime, lock))[0][0] != "doing":
        assert time.monotonic() < deadline, "the worker never took the job"
        await asyncio.sleep(0.2)


async def test_a_killed_workers_job_is_retried_once_and_drafted_once(runtime, classroom):
    """kill -9 of a worker in the middle of a model call: its job is `doing` with no one on
    it. Recovery retries it once; the next worker drafts it; exactly one draft exists."""
    async with open_feedback(runtime) as workflow:
        await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)  # other tests' leftovers: this worker must see only ours
        async with runtime.db.transaction() as session:
            sub = await submit_for_feedback(session, student_id=classroom.student_id, title="Essay", body=ESSAY)
        await _only_ours_waiting(runtime, feedback_lock(sub.id))
        with SlowWorker() as worker:
            await _until_doing(runtime, feedback_lock(sub.id))
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        assert await _only_todo(runtime, feedback_lock(sub.id)) == [("doing", 0)]  # stranded, as before
        await asyncio.sleep(1.5)  # the dead worker's last heartbeat ages
        app = job_app(runtime.db.url)
        async with app.open_async():
            assert await recover_stalled(app, after_s=1) == 1
            assert await recover_stalled(app, after_s=1) == 0  # retried once, not twice
        assert await _only_todo(runtime, feedback_lock(sub.id)) == [("todo", 1)]
        await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
        assert (await workflow.pending_review(sub.id)) is not None
    assert await _only_todo(runtime, feedback_lock(sub.id)) == [("succeeded", 2)]  # two runs
    async with runtime.db.transaction() as session:
        drafts = (await session.scalars(select(Draft).where(Draft.submission_id == sub.id))).all()
    assert len(drafts) == 1


async def test_sigterm_stops_a_worker_mid_call_and_its_job_goes_back_to_the_queue(runtime, classroom):
    """SIGTERM while a model call runs: the worker waits its grace period (1 s here), drops the
    call and exits; the job is waiting for a retry, not aborted; the next worker drafts it."""
    async with open_feedback(runtime) as workflow:
        await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
        async with runtime.db.transaction() as session:
            sub = await submit_for_feedback(session, student_id=classroom.student_id, title="Essay", body=ESSAY)
        await _only_ours_waiting(runtime, feedback_lock(sub.id))
        with SlowWorker(BEACON_WORKER_SHUTDOWN_S="1") as worker:
            await _until_doing(runtime, feedback_lock(sub.id))
            stopped = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=40) == 0
            took = time.monotonic() - stopped
        # The model call lasts 30 s: stopping sooner means it was dropped, not waited for (the
        # margin is for a loaded machine: the grace period is 1 s).
        assert took < 25, f"the worker took {took:.1f} s to stop"
        assert await _only_todo(runtime, feedback_lock(sub.id)) == [("todo", 1)]
        async with runtime.db.transaction() as session:
            assert (await session.get(Submission, sub.id)).status == "queued"
            await session.execute(text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE queueing_lock = :l"),
                                  {"l": feedback_lock(sub.id)})
        await run_jobs(runtime, workflows_for(runtime, workflow), wait=False)
        assert (await workflow.pending_review(sub.id)) is not None


async def test_the_worker_outlives_a_database_outage_and_says_so_meanwhile(runtime, monkeypatch):
    """The worker's connection fails (the database went away), then Procrastinate stops it by
    itself after a side task's database error: both times it is restarted with backoff instead
    of dying, its health reads "reconnecting" meanwhile, and only SIGTERM ends it."""
    import procrastinate

    import beacon.runtime as rt_module

    calls, seen = {"n": 0}, []
    health = WorkerHealth()

    async def flaky(self, **kwargs):
        calls["n"] += 1
        seen.append(health.state)
        if calls["n"] == 1:
            raise procrastinate.exceptions.ConnectorException("connection refused")
        if calls["n"] == 2:
            return  # Procrastinate's own stop after its heartbeat failed
        await asyncio.sleep(3600)  # working, until told to stop

    monkeypatch.setattr(procrastinate.App, "run_worker_async", flaky)
    monkeypatch.setattr(rt_module, "MAX_BACKOFF_S", 0.05)
    async with open_feedback(runtime) as workflow:
        task = asyncio.create_task(run_jobs(runtime, workflows_for(runtime, workflow), wait=True, own_signals=True, health=health))
        for _ in range(200):
            if calls["n"] == 3 or task.done():
                break
            await asyncio.sleep(0.01)
        assert calls["n"] == 3 and health.restarts == 2 and health.state == "running"
        assert seen == ["running", "running", "running"] and health.error is None
        os.kill(os.getpid(), signal.SIGTERM)  # a stop someone asked for
        await asyncio.wait_for(task, 10)
    assert health.state == "stopped" and calls["n"] == 3
