"""`beacon eval`: run a suite, report, compare with an earlier run, and say whether the suite's
thresholds hold (the exit code)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from beacon.config import Settings
from beacon.errors import InvalidInput
from beacon.evals import report
from beacon.evals.runner import run_suite
from beacon.evals.suites import load_suite


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
    feedback suite retrieves through ``runtime`` (opened here when not given)."""
    from beacon.llm.client import concurrency
    from beacon.feedback.drafters import OfflineModel, drafter_for
    from beacon.projects.designer import designer_for

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

    from contextlib import AsyncExitStack

    from beacon.rubrics.service import match
    from beacon.runtime import open_runtime

    async with AsyncExitStack() as stack:
        rt = runtime or await stack.enter_async_context(open_runtime(settings))

        async def retrieve(text: str) -> list[str]:
            async with rt.db.transaction() as session:
                return [m.id for m in await match(session, text, rt.embedder, limit=3)]

        run = await run_suite(suite, base, drafter, retrieve=retrieve, designer=designer_for(settings),
                              rubrics_dir=settings.rubrics_dir, **common)
    return report.summarize(run, suite.thresholds), report.run_as_dict(run)


def write_report(path: Path, summary: dict, run: dict, against: dict | None) -> None:
    if path.suffix.lower() in (".html", ".htm"):
        path.write_text(report.html_report(summary, against), encoding="utf-8")
    else:
        path.write_text(json.dumps({"summary": summary, "run": run}, indent=2, default=str), encoding="utf-8")


def read_summary(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data["summary"] if "summary" in data else data
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidInput(f"{path}: not a Beacon eval report (.json): {exc}") from None
