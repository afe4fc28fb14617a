"""From a run to numbers and reports: per-criterion and overall agreement, retrieval, grounding,
feedback checks, injection, projects, fairness, the worst disagreements; thresholds; a terminal
table, JSON, and a self-contained HTML report (inline SVG, no network) with a run comparison."""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from dataclasses import asdict

from beacon.evals.metrics import agreement, group_bias
from beacon.evals.runner import Run

LEVELS = 4  # the scale of a criterion the run names no scale for (the library's rubrics have 4)
MIN_GROUP = 20  # works: smaller groups are reported but not charted or summarised


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def summarize(run: Run, thresholds: dict[str, float] | None = None) -> dict:
    ok = [i for i in run.items if not i.error]
    per_criterion: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    scale: dict[str, int] = {}
    for item in ok:
        for key, human in item.human.items():
            if key in item.drafted:
                name = run.criterion_names.get(key, key)
                per_criterion[name][0].append(human)
                per_criterion[name][1].append(item.drafted[key])
                scale[name] = run.scales.get(key, LEVELS)
    # Pooled over criteria of different scales, kappa weighs distances on the longest one.
    pooled_k = max(scale.values(), default=LEVELS)
    pooled_h = [h for hs, _ in per_criterion.values() for h in hs]
    pooled_d = [d for _, ds in per_criterion.values() for d in ds]
    retrieved = [i for i in ok if i.retrieved]
    fairness = {}
    for attribute in sorted({g for i in ok for g in i.groups}):
        rows = [(i.groups[attribute], h, i.drafted[k]) for i in ok for k, h in i.human.items() if k in i.drafted]
        fairness[attribute] = group_bias(rows)  # n: criterion judgements; essays: works
        for group, count in Counter(i.groups[attribute] for i in ok).items():
            fairness[attribute][group]["essays"] = count
    disagreements = sorted(
        ({"id": i.id, "source": i.source, "competency": i.competency, "excerpt": i.excerpt,
          "distance": sum(abs(i.drafted[k] - h) for k, h in i.human.items() if k in i.drafted),
          "human": i.human, "drafted": i.drafted} for i in ok if i.human),
        key=lambda d: -d["distance"])[:10]
    graded = [i for i in ok if i.reading_grade is not None]
    summary = {
        "suite": run.suite, "kind": run.kind, "model": run.model, "prompt_hash": run.prompt_hash,
        "started_at": run.started_at, "seconds": run.seconds,
        "items": len(run.items), "errors": len(run.items) - len(ok), "skipped": len(run.skipped),
        "overall": agreement(pooled_h, pooled_d, pooled_k).as_dict(),
        "per_criterion": {name: agreement(h, d, scale[name]).as_dict() for name, (h, d) in sorted(per_criterion.items())},
        "retrieval": {"n": len(retrieved),
                      "hit_at_1": _rate(sum(i.retrieved[:1] == [i.competency] for i in retrieved), len(retrieved)),
                      "hit_at_3": _rate(sum(i.competency in i.retrieved[:3] for i in retrieved), len(retrieved))},
        "grounding_rate": _rate(sum(i.quotes_kept for i in ok), sum(i.quotes_proposed for i in ok)),
        "invented_criteria": sum(f.startswith("invented_criterion") for i in ok for f in i.flags),
        "feedback": {
            "next_step_rate": _rate(sum(i.next_step for i in ok), len(ok)),
            "reading_level_fit_rate": _rate(sum(i.reading_grade <= i.grade + 2 for i in graded), len(graded)),
            "mean_reading_grade": round(sum(i.reading_grade for i in graded) / len(graded), 1) if graded else None,
            "length_ok_rate": _rate(sum(i.length_ok for i in ok), len(ok)),
        },
        "injection": {"n": len(run.probes),
                      "flagged_rate": _rate(sum(p.flagged for p in run.probes), len(run.probes)),
                      "mean_inflation": (sum(p.inflation for p in run.probes) / len(run.probes)) if run.probes else None,
                      "max_inflation": max((p.inflation for p in run.probes), default=None)},
        "projects": {"n": len(run.projects),
                     "interest_rate": _rate(sum(p.interest_tied for p in run.projects), sum(p.proposals for p in run.projects)),
                     "gap_rate": _rate(sum(p.gap_targeted for p in run.projects), sum(p.proposals for p in run.projects)),
                     "target_hit_rate": _rate(sum(p.targets[:1] == [p.expect_target] for p in run.projects), len(run.projects)),
                     "three_proposals_rate": _rate(sum(p.proposals == 3 for p in run.projects), len(run.projects))},
        "fairness": fairness,
        "disagreements": disagreements,
        "cost_usd": round(sum(i.cost_usd for i in ok), 6),
        "tokens": sum(i.tokens for i in ok),
    }
    summary["reliability"] = reliability(ok)
    qwks = [a["qwk"] for a in summary["per_criterion"].values() if a["qwk"] is not None]
    summary["mean_criterion_qwk"] = round(sum(qwks) / len(qwks), 3) if qwks else None
    # The largest gap at equal human level of any group with at least 100 works.
    gaps = [abs(g["vs_others_at_equal_human_level"]) for groups in fairness.values() for g in groups.values()
            if g.get("essays", 0) >= 100 and g["vs_others_at_equal_human_level"] is not None]
    summary["max_group_bias"] = round(max(gaps), 3) if gaps else None
    summary["thresholds"] = check_thresholds(summary, thresholds or {})
    return summary


CONFIDENCE_BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0001)


def reliability(items) -> dict:
    """Is a draft's confidence what it claims? Per confidence band: how many criterion levels,
    their mean confidence, and how often the human level was the same. A calibrated model's
    exact rate follows its confidence; ``gap`` is the weighted distance between the two."""
    bands = []
    total = gap = 0.0
    for low, high in zip(CONFIDENCE_BINS, CONFIDENCE_BINS[1:], strict=False):
        pairs = [(i.confidence[k], i.drafted[k] == h) for i in items for k, h in i.human.items()
                 if k in i.drafted and k in i.confidence and low <= i.confidence[k] < high]
        if not pairs:
            continue
        mean = sum(c for c, _ in pairs) / len(pairs)
        exact = sum(ok for _, ok in pairs) / len(pairs)
        bands.append({"band": f"{low:.1f}-{min(high, 1.0):.1f}", "n": len(pairs), "mean_confidence": round(mean, 3),
                      "exact": round(exact, 3), "few": len(pairs) < 10})
        total += len(pairs)
        gap += len(pairs) * abs(mean - exact)
    return {"bands": bands, "gap": round(gap / total, 3) if total else None}


# Threshold names in a suite file -> (where in the summary, "min" or "max").
THRESHOLDS = {
    "qwk_min": (("overall", "qwk"), "min"),
    "mean_criterion_qwk_min": (("mean_criterion_qwk",), "min"),
    # No group of 100 works or more (a small or synthetic corpus): nothing to hold it to.
    "group_bias_max": (("max_group_bias",), "max_if_measured"),
    "exact_min": (("overall", "exact"), "min"),
    "adjacent_min": (("overall", "adjacent"), "min"),
    "retrieval_hit_at_1_min": (("retrieval", "hit_at_1"), "min"),
    "retrieval_hit_at_3_min": (("retrieval", "hit_at_3"), "min"),
    "grounding_rate_min": (("grounding_rate",), "min"),
    "invented_criteria_max": (("invented_criteria",), "max"),
    "next_step_rate_min": (("feedback", "next_step_rate"), "min"),
    "length_ok_rate_min": (("feedback", "length_ok_rate"), "min"),
    "injection_flagged_rate_min": (("injection", "flagged_rate"), "min"),
    "injection_inflation_max": (("injection", "max_inflation"), "max"),
    "project_interest_rate_min": (("projects", "interest_rate"), "min"),
    "project_gap_rate_min": (("projects", "gap_rate"), "min"),
    "errors_max": (("errors",), "max"),
}


def check_thresholds(summary: dict, thresholds: dict[str, float]) -> list[dict]:
    results = []
    for name, limit in thresholds.items():
        if name not in THRESHOLDS:
            results.append({"name": name, "limit": limit, "value": None, "ok": False, "why": "unknown threshold"})
            continue
        path, kind = THRESHOLDS[name]
        value = summary
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None and kind == "max_if_measured":
            results.append({"name": name, "limit": limit, "value": None, "ok": True, "why": "not measured here"})
            continue
        ok = value is not None and (value >= limit if kind == "min" else value <= limit)
        results.append({"name": name, "limit": limit, "value": value, "ok": ok})
    return results


def passed(summary: dict) -> bool:
    return all(t["ok"] for t in summary["thresholds"])


def _fmt(value, pct: bool = False) -> str:
    if value is None:
        return "–"
    if pct:
        return f"{value * 100:.0f}%"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def terminal(summary: dict) -> str:
    lines = [f"{summary['suite']} · model {summary['model']} · {summary['items']} items "
             f"({summary['errors']} errors, {summary.get('skipped', 0)} rows skipped) · {summary['seconds']} s"]
    rows = [("criterion", "n", "QWK", "exact", "adjacent", "MAE")]
    for name, a in [*summary["per_criterion"].items(), ("overall", summary["overall"])]:
        rows.append((name, str(a["n"]), _fmt(a["qwk"]), _fmt(a["exact"], True), _fmt(a["adjacent"], True), _fmt(a["mae"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    r, f, inj, pr = summary["retrieval"], summary["feedback"], summary["injection"], summary["projects"]
    if r["n"]:
        lines.append(f"retrieval hit@1 {_fmt(r['hit_at_1'], True)}  hit@3 {_fmt(r['hit_at_3'], True)} (n={r['n']})")
    rel = summary.get("reliability") or {}
    if rel.get("bands"):
        lines.append("confidence vs exact agreement: " + ", ".join(
            f"{b['band']} n={b['n']}{' (few)' if b['few'] else ''} said {_fmt(b['mean_confidence'])} got {_fmt(b['exact'])}"
            for b in rel["bands"]) + f" · gap {_fmt(rel['gap'])}")
    # Quotes found verbatim, not whether they show their criterion (scripts/measure_evidence.py).
    lines.append(f"quotes found verbatim {_fmt(summary['grounding_rate'], True)} · invented criteria {summary['invented_criteria']} · "
                 f"next step {_fmt(f['next_step_rate'], True)} · reading level fits {_fmt(f['reading_level_fit_rate'], True)} "
                 f"(mean grade {_fmt(f['mean_reading_grade'])}) · length ok {_fmt(f['length_ok_rate'], True)}")
    if inj["n"]:
        lines.append(f"injection flagged {_fmt(inj['flagged_rate'], True)} · level inflation mean {_fmt(inj['mean_inflation'])} "
                     f"max {_fmt(inj['max_inflation'])} (n={inj['n']})")
    if pr["n"]:
        lines.append(f"projects: interest {_fmt(pr['interest_rate'], True)} · gap {_fmt(pr['gap_rate'], True)} · "
                     f"weakest targeted first {_fmt(pr['target_hit_rate'], True)} · three kept {_fmt(pr['three_proposals_rate'], True)}")
    for attribute, groups in summary["fairness"].items():
        parts = [f"{g} {_fmt(v['vs_others_at_equal_human_level'])} ({v['essays']} works)"
                 for g, v in groups.items() if v["essays"] >= MIN_GROUP]
        lines.append(f"fairness by {attribute} (drafted level vs others at equal human level): " + "; ".join(parts))
    for t in summary["thresholds"]:
        lines.append(f"{'PASS' if t['ok'] else 'FAIL'} {t['name']} {_fmt(t['value'])} (limit {t['limit']})")
    return "\n".join(lines)


# --- HTML ------------------------------------------------------------------------------------

def _bars(values: dict[str, float | None], *, width: int = 640, scale: float = 1.0, signed: bool = False) -> str:
    """A horizontal bar chart as inline SVG."""
    row, label_w = 22, 300
    height = row * max(1, len(values)) + 10
    zero = label_w + ((width - label_w) / 2 if signed else 0)
    span = (width - label_w) / (2 if signed else 1)
    parts = [f'<svg width="{width}" height="{height}" role="img">']
    for n, (name, value) in enumerate(values.items()):
        y = 5 + n * row
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{html.escape(name[:48])}</text>')
        if value is None:
            parts.append(f'<text x="{label_w}" y="{y + 14}" font-size="12" fill="#888">n/a</text>')
            continue
        length = min(1.0, abs(value) / scale) * span
        x = zero - length if value < 0 else zero
        color = "#b42318" if value < 0 else "#1f6feb"
        parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{length:.1f}" height="14" fill="{color}"/>')
        parts.append(f'<text x="{min(width - 40, zero + (length if value >= 0 else 4)) + 4:.1f}" y="{y + 14}" font-size="11">{value:.2f}</text>')
    if signed:
        parts.append(f'<line x1="{zero}" y1="0" x2="{zero}" y2="{height}" stroke="#999"/>')
    parts.append("</svg>")
    return "".join(parts)


def _matrix(confusion: list[list[int]]) -> str:
    peak = max((v for row in confusion for v in row), default=0) or 1
    cells = []
    for h, row in enumerate(confusion, start=1):
        tds = "".join(f'<td style="background:rgba(31,111,235,{v / peak:.2f});color:{"#fff" if v / peak > .5 else "#000"}">{v}</td>'
                      for v in row)
        cells.append(f"<tr><th>H{h}</th>{tds}</tr>")
    head = "".join(f"<th>D{d}</th>" for d in range(1, len(confusion) + 1))
    return f'<table class="matrix"><tr><th></th>{head}</tr>{"".join(cells)}</table>'


def html_report(summary: dict, other: dict | None = None) -> str:
    e = html.escape
    title = f"Beacon eval · {summary['suite']} · {summary['model']}"
    body = [f"<h1>{e(title)}</h1>",
            f"<p class=muted>{summary['items']} items, {summary['errors']} errors, {summary['seconds']} s, "
            f"prompt {e(summary['prompt_hash'][:12])}, started {e(summary['started_at'])}</p>"]
    if summary["thresholds"]:
        body.append("<ul>" + "".join(f"<li class={'ok' if t['ok'] else 'fail'}>{'PASS' if t['ok'] else 'FAIL'} "
                                     f"{e(t['name'])}: {_fmt(t['value'])} (limit {t['limit']})</li>"
                                     for t in summary["thresholds"]) + "</ul>")
    rows = "".join(f"<tr><td>{e(n)}</td><td>{a['n']}</td><td>{_fmt(a['qwk'])}</td><td>{_fmt(a['exact'], True)}</td>"
                   f"<td>{_fmt(a['adjacent'], True)}</td><td>{_fmt(a['mae'])}</td></tr>"
                   for n, a in [*summary["per_criterion"].items(), ("overall", summary["overall"])])
    body.append("<h2>Agreement with human levels</h2><table><tr><th>criterion</th><th>n</th><th>QWK</th>"
                f"<th>exact</th><th>adjacent</th><th>MAE</th></tr>{rows}</table>")
    body.append("<h3>QWK by criterion</h3>" + _bars({n: a["qwk"] for n, a in summary["per_criterion"].items()}, signed=True))
    body.append("<h3>Confusion matrices</h3><p class=muted>Rows H1-H4: the human level; columns D1-D4: the drafted level.</p><div class=grid>" + "".join(
        f"<div><h4>{e(n)}</h4>{_matrix(a['confusion'])}</div>"
        for n, a in [("overall", summary["overall"]), *summary["per_criterion"].items()]) + "</div>")
    rel = summary.get("reliability") or {}
    if rel.get("bands"):
        cells = "".join(f"<tr><td>{e(b['band'])}</td><td>{b['n']}{' (few)' if b['few'] else ''}</td>"
                        f"<td>{_fmt(b['mean_confidence'])}</td><td>{_fmt(b['exact'], True)}</td></tr>" for b in rel["bands"])
        body.append("<h2>Is the confidence calibrated?</h2><p class=muted>Criterion levels by the confidence the draft "
                    "gave them: a calibrated model is right about as often as it says. Gap (weighted): "
                    f"{_fmt(rel['gap'])}.</p><table><tr><th>confidence</th><th>n</th><th>said</th>"
                    f"<th>same level as the human</th></tr>{cells}</table>")
    checks = {"quotes found verbatim": summary["grounding_rate"], "next step present": summary["feedback"]["next_step_rate"],
              "reading level fits grade": summary["feedback"]["reading_level_fit_rate"],
              "length within bounds": summary["feedback"]["length_ok_rate"],
              "retrieval hit@1": summary["retrieval"]["hit_at_1"], "retrieval hit@3": summary["retrieval"]["hit_at_3"],
              "injection flagged": summary["injection"]["flagged_rate"],
              "projects: tie to an interest": summary["projects"]["interest_rate"],
              "projects: grow the weakest competency": summary["projects"]["gap_rate"]}
    body.append("<h2>Checks</h2>" + _bars({k: v for k, v in checks.items() if v is not None})
                + f"<p>Invented criteria: {summary['invented_criteria']} · injection level inflation: mean "
                  f"{_fmt(summary['injection']['mean_inflation'])}, max {_fmt(summary['injection']['max_inflation'])}</p>")
    for attribute, groups in summary["fairness"].items():
        body.append(f"<h2>Bias by {e(attribute)}</h2><p class=muted>Drafted level of each group minus everyone else's "
                    f"at the same human level, in levels (0 = no difference); groups of fewer than {MIN_GROUP} works "
                    "are left out of the chart (they are in the JSON).</p>"
                    + _bars({f"{g} ({v['essays']})": v["vs_others_at_equal_human_level"]
                             for g, v in groups.items() if v["essays"] >= MIN_GROUP}, scale=1.0, signed=True))
    if summary["disagreements"]:
        items = "".join(
            f"<details><summary>{e(d['id'])} · {e(d['competency'])} · distance {d['distance']}</summary>"
            f"<p class=muted>{e(d['source'])}</p><p>{e(d['excerpt'])}…</p>"
            f"<table><tr><th>criterion</th><th>human</th><th>drafted</th></tr>"
            + "".join(f"<tr><td>{e(k)}</td><td>{h}</td><td>{d['drafted'].get(k, '–')}</td></tr>" for k, h in d["human"].items())
            + "</table></details>" for d in summary["disagreements"])
        body.append(f"<h2>Where drafts and humans differ most</h2>{items}")
    if other is not None:
        body.append(compare_html(other, summary))
    style = ("body{font:14px/1.5 system-ui,sans-serif;max-width:1000px;margin:2rem auto;padding:0 1rem;color:#1d2733}"
             "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #d9e0e7;padding:.25rem .5rem;text-align:right}"
             "td:first-child,th:first-child{text-align:left}.muted{color:#5b6877}.ok{color:#1a7f37}.fail{color:#b42318}"
             ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(310px,1fr));gap:1rem}"
             ".matrix td,.matrix th{text-align:center;min-width:2.2rem;font-size:13px}")
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{e(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(body)}</body></html>")


def compare_rows(a: dict, b: dict) -> list[tuple[str, str, str]]:
    rows = [("model", a["model"], b["model"]), ("prompt", a["prompt_hash"][:12], b["prompt_hash"][:12]),
            ("overall QWK", _fmt(a["overall"]["qwk"]), _fmt(b["overall"]["qwk"])),
            ("overall exact", _fmt(a["overall"]["exact"], True), _fmt(b["overall"]["exact"], True))]
    for name in sorted(set(a["per_criterion"]) | set(b["per_criterion"])):
        rows.append((f"QWK {name}", _fmt(a["per_criterion"].get(name, {}).get("qwk")),
                     _fmt(b["per_criterion"].get(name, {}).get("qwk"))))
    rows += [("grounding", _fmt(a["grounding_rate"], True), _fmt(b["grounding_rate"], True)),
             ("seconds", str(a["seconds"]), str(b["seconds"])), ("cost USD", str(a["cost_usd"]), str(b["cost_usd"]))]
    return rows


def compare_text(a: dict, b: dict) -> str:
    rows = [("", "A", "B"), *compare_rows(a, b)]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)) for r in rows)


def compare_html(a: dict, b: dict) -> str:
    e = html.escape
    rows = "".join(f"<tr><td>{e(n)}</td><td>{e(x)}</td><td>{e(y)}</td></tr>" for n, x, y in compare_rows(a, b))
    return f"<h2>Side by side</h2><table><tr><th></th><th>A</th><th>B</th></tr>{rows}</table>"


def run_as_dict(run: Run) -> dict:
    return asdict(run)
