"""`beacon eval`: run a suite (``evals.service.evaluate``), report, compare with an earlier run, and
say whether the suite's thresholds hold (the exit code)."""

from __future__ import annotations

import json
from pathlib import Path

from beacon.config import Settings
from beacon.errors import InvalidInput
from beacon.evals import report
from beacon.evals.service import evaluate
from beacon.evals.suites import load_suite


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


async def evaluate_here(settings: Settings, name: str, **options) -> tuple[dict, dict]:
    """``evaluate`` from the command line: the database is opened only for suites that retrieve."""
    from beacon.runtime import open_runtime

    if load_suite(name, settings.evals_dir)[0].kind == "ellipse":
        return await evaluate(settings, name, **options)
    async with open_runtime(settings) as rt:
        return await evaluate(settings, name, runtime=rt, **options)
