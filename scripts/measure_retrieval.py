"""Measure retrieval on three sets: the project's own suite (evals/retrieval, used to tune), the
blind suite (evals/retrieval-blind, written without the library in view, never used to tune) and
every ELLIPSE essay (argumentative or opinion essays: the first competency should be
argument-writing, and a writing competency at the least).

    python scripts/measure_retrieval.py [--ellipse PATH] [--name retrieval-quality] [--tuning] [--skip N]

Runs on a throwaway embedded database with the offline embedder; writes
evals/reports/<name>.json and .md."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
WRITING = {"argument-writing", "informational-writing", "narrative-writing"}


def suite(name: str) -> list[tuple[str, str, set[str]]]:
    base = ROOT / "evals" / name
    works = yaml.safe_load((base / "suite.yaml").read_text(encoding="utf-8"))["works"]
    return [((base / w["file"]).read_text(encoding="utf-8"), w["expected_competency"], set(w.get("also") or ()))
            for w in works]


async def measure(args) -> dict:
    from beacon.config import Settings
    from beacon.rubrics.service import match
    from beacon.runtime import open_runtime

    report: dict = {}
    async with open_runtime(Settings()) as rt:
        async def ranked(text: str) -> list:
            async with rt.db.transaction() as session:
                return await match(session, text, rt.embedder, limit=3)

        for name in ("retrieval",) if args.tuning else ("retrieval", "retrieval-blind"):
            first = top3 = accepted = 0
            misses = []
            works = suite(name)
            for text, expected, also in works:
                found = await ranked(text)
                ids = [m.id for m in found]
                first += ids[0] == expected
                accepted += ids[0] in {expected} | also
                top3 += expected in ids
                if ids[0] != expected:
                    misses.append({"expected": expected, "got": ids, "start": text[:60]})
            report[name] = {"n": len(works), "hit_at_1": round(first / len(works), 3),
                            "hit_at_1_accepting_also": round(accepted / len(works), 3),
                            "hit_at_3": round(top3 / len(works), 3), "misses": misses}
        if args.ellipse and args.ellipse.is_file():
            with args.ellipse.open(encoding="utf-8", errors="replace", newline="") as handle:
                essays = [r["full_text"] for r in csv.DictReader(handle)]
            # --tuning: the first 300 rows only (what the evidence profiles were tuned on).
            essays = essays[:300] if args.tuning else essays[args.skip:]
            tops, started = Counter(), time.perf_counter()
            for text in essays:
                tops[(await ranked(text))[0].id] += 1
            n = len(essays)
            report["ellipse"] = {"n": n, "argument_first": round(tops["argument-writing"] / n, 3),
                                 "writing_first": round(sum(tops[c] for c in WRITING) / n, 3),
                                 "top_1": dict(tops.most_common()),
                                 "ms_per_essay": round((time.perf_counter() - started) * 1000 / n, 1)}
    return report


# Regression gates at what retrieval holds now. Issue 12's targets (blind 95% top-1, 99% top-3)
# are not reached; these keep what was gained from slipping.
GATES = {("retrieval", "hit_at_1"): 0.9, ("retrieval", "hit_at_3"): 1.0, ("retrieval-blind", "hit_at_1"): 0.70,
         ("retrieval-blind", "hit_at_3"): 0.90, ("ellipse", "writing_first"): 0.97, ("ellipse", "argument_first"): 0.94}


def gate(report: dict) -> list[str]:
    return [f"{s} {k} {report[s][k]} < {v}" for (s, k), v in GATES.items() if s in report and report[s][k] < v]


def write(report: dict, name: str) -> None:
    out = ROOT / "evals" / "reports"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = ["# Retrieval quality", "", "| set | n | hit@1 | hit@1 (also accepted) | hit@3 |", "|---|---:|---:|---:|---:|"]
    for key, label in (("retrieval", "own suite (tuned on)"), ("retrieval-blind", "blind suite (never tuned on)")):
        r = report[key]
        lines.append(f"| {label} | {r['n']} | {r['hit_at_1']} | {r['hit_at_1_accepting_also']} | {r['hit_at_3']} |")
    if "ellipse" in report:
        e = report["ellipse"]
        lines += ["", f"ELLIPSE, {e['n']} essays: argument-writing first {e['argument_first']:.1%}, a writing "
                  f"competency first {e['writing_first']:.1%}; {e['ms_per_essay']} ms per essay.",
                  "", "Top-1 counts: " + ", ".join(f"{k} {v}" for k, v in e["top_1"].items()) + "."]
    misses = report["retrieval-blind"]["misses"]
    lines += ["", f"Blind-suite misses ({len(misses)}):", ""]
    lines += [f"- expected {m['expected']}, got {', '.join(m['got'])}: “{m['start']}…”" for m in misses]
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ellipse", type=Path, default=ROOT.parent / "shared" / "data" / "ellipse" / "ellipse_test.csv")
    parser.add_argument("--name", default="retrieval-quality")
    parser.add_argument("--tuning", action="store_true", help="only the sets used to tune (own suite, 300 ELLIPSE essays)")
    parser.add_argument("--skip", type=int, default=0, help="leave out the first N ELLIPSE rows")
    parser.add_argument("--check", action="store_true", help="exit 1 when a gate is missed")
    args = parser.parse_args()
    if args.check and not args.ellipse.is_file():
        raise SystemExit(f"no ELLIPSE data at {args.ellipse}: the gates need it (pass --ellipse PATH)")
    os.environ["BEACON_DATA_DIR"] = tempfile.mkdtemp(prefix="beacon-retrieval-")
    os.environ.pop("BEACON_DATABASE_URL", None)
    report = asyncio.run(measure(args))
    if args.tuning:
        print(json.dumps(report, indent=1))
        return
    write(report, args.name)
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "misses"} for k, v in report.items()}, indent=2))
    failures = gate(report)
    if args.check and failures:
        print("retrieval gates failed:\n  " + "\n  ".join(failures), file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
