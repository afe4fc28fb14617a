"""Measure injection detection (feedback/injection.py) on the corpora in evals/injection: dev.yaml
(used to tune the patterns) and blind.yaml (written without the detector in view, never used to
tune). Recall on attempts, false positives on benign student texts, per kind and language, and
whether the marked span covers the attempt.

    python scripts/measure_injection.py [--only dev|blind] [--check] [--name injection-quality]

Writes evals/reports/<name>.json and .md (both sets)."""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from beacon.feedback.injection import find_injections  # noqa: E402

# Regression gates on the blind set at what the detector holds now. Issue 12's targets (recall
# 0.95 at 2% false positives) are not reached: indirect and non-English attempts are the gap.
GATES = {"recall_min": 0.65, "false_positive_rate_max": 0.03}


def measure(name: str) -> dict:
    items = yaml.safe_load((ROOT / "evals" / "injection" / f"{name}.yaml").read_text(encoding="utf-8"))["items"]
    attempts = [i for i in items if i["injected"]]
    benign = [i for i in items if not i["injected"]]
    by_kind: dict[str, list[bool]] = defaultdict(list)
    by_language: dict[str, list[bool]] = defaultdict(list)
    missed, false_alarms, covered = [], [], 0
    for item in attempts:
        found = find_injections(item["text"])
        hit = bool(found)
        by_kind[item["kind"]].append(hit)
        by_language[item["language"]].append(hit)
        start = item["text"].find(item.get("span") or "")
        if hit and start >= 0 and any(s < start + len(item["span"]) and e > start for s, e, _ in found):
            covered += 1
        if not hit:
            missed.append({"kind": item["kind"], "language": item["language"], "span": (item.get("span") or "")[:120]})
    for item in benign:
        found = find_injections(item["text"])
        if found:
            false_alarms.append({"kind": item["kind"], "flagged": found[0][2][:120]})
    return {
        "attempts": len(attempts), "benign": len(benign),
        "recall": round(1 - len(missed) / len(attempts), 3) if attempts else None,
        "false_positive_rate": round(len(false_alarms) / len(benign), 3) if benign else None,
        "span_covered_rate": round(covered / len(attempts), 3) if attempts else None,
        "recall_by_kind": {k: round(sum(v) / len(v), 3) for k, v in sorted(by_kind.items())},
        "recall_by_language": {k: round(sum(v) / len(v), 3) for k, v in sorted(by_language.items())},
        "missed": missed, "false_alarms": false_alarms,
    }


def write(report: dict, name: str) -> None:
    out = ROOT / "evals" / "reports"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    lines = ["# Injection detection", "", "| set | attempts | benign | recall | false positives | span covered |",
             "|---|---:|---:|---:|---:|---:|"]
    for key, label in (("dev", "dev (tuned on)"), ("blind", "blind (never tuned on)")):
        if key in report:
            r = report[key]
            lines.append(f"| {label} | {r['attempts']} | {r['benign']} | {r['recall']} | {r['false_positive_rate']} | "
                         f"{r['span_covered_rate']} |")
    if "blind" in report:
        r = report["blind"]
        lines += ["", "Blind recall by kind: " + ", ".join(f"{k} {v}" for k, v in r["recall_by_kind"].items()) + ".",
                  "", "Blind recall by language: " + ", ".join(f"{k} {v}" for k, v in r["recall_by_language"].items()) + ".",
                  "", f"Blind misses ({len(r['missed'])}):", ""]
        lines += [f"- {m['kind']} ({m['language']}): “{m['span']}”" for m in r["missed"]]
        lines += ["", f"Blind false alarms ({len(r['false_alarms'])}):", ""]
        lines += [f"- {m['kind']}: “{m['flagged']}”" for m in r["false_alarms"]]
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("dev", "blind"))
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--name", default="injection-quality")
    args = parser.parse_args()
    names = [args.only] if args.only else ["dev", "blind"]
    report = {n: measure(n) for n in names}
    if not args.only:
        write(report, args.name)
    print(json.dumps({n: {k: v for k, v in r.items() if k not in ("missed", "false_alarms")} for n, r in report.items()},
                     indent=2, ensure_ascii=False))
    if args.only == "dev":
        for m in report["dev"]["missed"]:
            print("MISS", m)
        for m in report["dev"]["false_alarms"]:
            print("FALSE", m)
    blind = report.get("blind")
    if args.check and blind and (blind["recall"] < GATES["recall_min"]
                                 or blind["false_positive_rate"] > GATES["false_positive_rate_max"]):
        print(f"injection gates failed: {GATES}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
