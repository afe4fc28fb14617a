"""Agreement from real use: how far drafted levels agree with the levels teachers approved, and
how often teachers edit, reject or regenerate. (Suites against human raters build on this.)"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from beacon.config import Settings
from beacon.errors import NotFound
from beacon.evals import report
from beacon.evals.models import EvalRun
from beacon.evals.repository import DecidedDraft, get_run
from beacon.evals.runner import run_suite
from beacon.evals.suites import load_suite
from beacon.feedback.drafters import OfflineModel, drafter_for
from beacon.jobs import defer_in
from beacon.llm.client import concurrency
from beacon.offload import in_thread
from beacon.projects.designer import designer_for
from beacon.rubrics.service import match

# An eval run is a job (``evals/tasks.py``) on a queue of its own.
EVAL_QUEUE = "evals"
EVAL_TASK = "beacon:run_eval"


@dataclass
class Agreement:
    """Counts for one group of decisions (a competency, a teacher, a model)."""

    decisions: int = 0
    approved: int = 0
    edited: int = 0
    rejected: int = 0
    regenerated: int = 0
    criteria: int = 0  # criteria judged on approved drafts
    exact: int = 0  # ... where the teacher kept the drafted level
    adjacent: int = 0  # ... within one level
    bulk_approved: int = 0  # approved from the queue without opening the draft: not agreement

    FEW = 10  # below this many criteria judged, a rate says little (marked on the page)

    @property
    def few(self) -> bool:
        return self.criteria < self.FEW

    @property
    def exact_rate(self) -> float | None:
        return self.exact / self.criteria if self.criteria else None

    @property
    def adjacent_rate(self) -> float | None:
        return self.adjacent / self.criteria if self.criteria else None

    @property
    def edit_rate(self) -> float | None:
        return self.edited / self.approved if self.approved else None

    def as_dict(self) -> dict:
        return {**self.__dict__, "exact_rate": self.exact_rate, "adjacent_rate": self.adjacent_rate,
                "edit_rate": self.edit_rate, "few": self.few}


@dataclass
class RealUse:
    overall: Agreement = field(default_factory=Agreement)
    by_competency: dict[str, Agreement] = field(default_factory=lambda: defaultdict(Agreement))
    by_teacher: dict[str, Agreement] = field(default_factory=lambda: defaultdict(Agreement))
    by_model: dict[str, Agreement] = field(default_factory=lambda: defaultdict(Agreement))
    by_prompt: dict[str, Agreement] = field(default_factory=lambda: defaultdict(Agreement))
    # Per criterion only the level counts: "edited" there means the teacher changed the level.
    by_criterion: dict[str, Agreement] = field(default_factory=lambda: defaultdict(Agreement))

    def as_dict(self) -> dict:
        return {"overall": self.overall.as_dict(),
                **{name: {k: v.as_dict() for k, v in sorted(getattr(self, name).items())}
                   for name in ("by_competency", "by_criterion", "by_teacher", "by_model", "by_prompt")}}


def _levels(content: dict) -> dict[str, int]:
    return {c["criterion_id"]: c["level"] for c in content.get("criteria", [])}


def real_use(decided: list[DecidedDraft]) -> RealUse:
    summary = RealUse()
    for item in decided:
        draft, decision = item.draft, item.decision
        competency = draft.content.get("rubric_id", "?")
        groups = [summary.overall, summary.by_competency[competency],
                  summary.by_teacher[item.teacher_name], summary.by_model[draft.model],
                  summary.by_prompt[f"{draft.model} · {draft.prompt_hash[:12]}"]]
        drafted = _levels(draft.content)
        approved = _levels(item.release.content) if item.release is not None else {}
        pairs = [(criterion, drafted[criterion], level) for criterion, level in approved.items() if criterion in drafted]
        if decision.action == "approve" and decision.bulk:
            # Nobody looked at this draft's levels: approving it says nothing about agreeing.
            for group in groups:
                group.decisions += 1
                group.bulk_approved += 1
            continue
        for group in groups:
            group.decisions += 1
            group.rejected += decision.action == "reject"
            group.regenerated += decision.action == "regenerate"
            if decision.action == "approve":
                group.approved += 1
                group.edited += decision.edited_content is not None
                _count_levels(group, pairs)
        for criterion, was, now in pairs:
            one = summary.by_criterion[f"{competency}/{criterion}"]
            one.decisions += 1
            one.approved += 1
            one.edited += was != now
            _count_levels(one, [(criterion, was, now)])
    return summary


def _count_levels(group: Agreement, pairs: list[tuple[str, int, int]]) -> None:
    """Add (criterion, drafted level, approved level) comparisons to a group."""
    for _, was, now in pairs:
        group.criteria += 1
        group.exact += was == now
        group.adjacent += abs(was - now) <= 1


def changed_levels(item: DecidedDraft) -> list[tuple[str, int, int]]:
    """(criterion, drafted level, approved level) where the teacher changed the level."""
    if item.release is None:
        return []
    drafted = _levels(item.draft.content)
    return [(c, drafted[c], lv) for c, lv in _levels(item.release.content).items() if c in drafted and drafted[c] != lv]


def suite_names(evals_dir) -> list[str]:
    return sorted(p.stem for p in evals_dir.glob("*.yaml"))


async def start_run(session, coach, *, suite: str, model: str, limit: int | None, evals_dir):
    """Queue an eval run (its job in the same transaction). The suite must exist."""
    if suite not in suite_names(evals_dir):
        raise NotFound(f"no eval suite {suite!r}")
    run = EvalRun(school_id=coach.school_id, requested_by=coach.id, suite=suite, model=model, item_limit=limit)
    session.add(run)
    await session.flush()
    await defer_in(session, EVAL_TASK, f"eval:{run.id}", queue=EVAL_QUEUE, run_id=str(run.id))
    return run


async def execute_run(runtime, run_id) -> None:
    """The job: run the suite, keep its summary and HTML report on the row, or the error."""
    from datetime import UTC, datetime


    async with runtime.db.transaction() as session:
        run = await get_run(session, run_id)
        if run is None or run.status not in ("queued", "running"):
            return
        run.status = "running"
        suite, model, limit = run.suite, run.model, run.item_limit
    settings = runtime.settings.model_copy(update={"model": model})
    try:
        summary, _ = await evaluate(settings, suite, limit=limit, runtime=runtime, progress=Progress(f"eval {run_id}"))

        values = {"status": "done", "summary": summary, "report_html": await in_thread(report.html_report, summary)}
    except Exception as exc:  # a bad suite or data: the coach sees why on the run
        values = {"status": "failed", "error": f"{type(exc).__name__}: {str(exc)[:500]}"}
    async with runtime.db.transaction() as session:
        run = await get_run(session, run_id)
        for key, value in values.items():
            setattr(run, key, value)
        run.finished_at = datetime.now(UTC)


def largest_changes(decided: list[DecidedDraft], limit: int = 10) -> list[tuple[DecidedDraft, int]]:
    """Approved drafts where the teacher moved levels the most (total levels moved), most first."""
    moved = [(item, sum(abs(a - b) for _, a, b in changed_levels(item))) for item in decided]
    return sorted((m for m in moved if m[1] > 0), key=lambda m: -m[1])[:limit]


class Progress:
    """A one-line progress bar on stderr (a line per tenth when stderr is not a terminal)."""

    def __init__(self, label: str) -> None:
        self.label, self.done, self.total, self.started, self.shown = label, 0, 0, time.monotonic(), -1
        self.tty = sys.stderr.isatty()

    def __call__(self, step: int, total: int) -> None:
        self.done += step
        self.total = total
        tenth = int(10 * self.done / max(1, self.total))
        if self.tty:
            filled = int(30 * self.done / max(1, self.total))
            rate = self.done / max(1e-9, time.monotonic() - self.started)
            sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} {rate:.1f}/s")
            if self.done >= self.total:
                sys.stderr.write("\n")
        elif tenth != self.shown:
            self.shown = tenth
            sys.stderr.write(f"{self.label}: {self.done}/{self.total}\n")
        sys.stderr.flush()


async def evaluate(settings: Settings, name: str, *, limit: int | None = None, data: Path | None = None,
                   runtime=None, progress: Progress | None = None) -> tuple[dict, dict]:
    """Run a suite with ``settings.model``; returns the summary and the full run as dicts. A
    feedback suite retrieves through ``runtime`` (a corpus suite needs none)."""
    suite, base = load_suite(name, settings.evals_dir)
    drafter = drafter_for(settings)
    model = settings.model
    prompt_hash = OfflineModel.prompt_hash if model == "offline" else drafter.prompt_hash
    progress = progress or Progress(f"{suite.name} · {model}")
    common = {"model": model, "prompt_hash": prompt_hash, "limit": limit,
              "concurrency": concurrency(settings), "progress": progress}
    if suite.kind == "ellipse":
        data = data or settings.eval_data_dir / "ellipse" / "ellipse_test.csv"
        run = await run_suite(suite, base, drafter, data=data, **common)
        return report.summarize(run, suite.thresholds), report.run_as_dict(run)


    async def retrieve(text: str) -> list[str]:
        async with runtime.db.transaction() as session:
            return [m.id for m in await match(session, text, runtime.embedder, limit=3)]

    run = await run_suite(suite, base, drafter, retrieve=retrieve, designer=designer_for(settings),
                          rubrics_dir=settings.rubrics_dir, **common)
    return report.summarize(run, suite.thresholds), report.run_as_dict(run)
