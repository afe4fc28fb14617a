"""`beacon eval` end to end: the project's suite with its thresholds (what CI runs), a corpus
suite read from a CSV through the ELLIPSE adapter (a small synthetic file here: the real corpus
is never committed), reports in JSON and self-contained HTML, comparison, and bad input."""

from __future__ import annotations

import csv
import json

from tests.test_cli import PROJECT, beacon

TRAITS = ["Cohesion", "Syntax", "Vocabulary", "Phraseology", "Grammar", "Conventions"]
STRONG = ("Many people believe that technology has changed how we communicate. However, I think it has "
          "improved our lives in important ways. For example, students can research topics quickly, and "
          "families who live far apart can talk every day. Therefore, although some people argue that "
          "phones distract us, the benefits are greater than the problems.\n\nIn conclusion, technology "
          "connects people, supports learning, and makes information available to everyone.")
WEAK = "i think technology is good. it is good because i like it. my phone is good and i use it alot"


def _corpus(path, rows: int = 24):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text_id_kaggle", "full_text", "grade", "gender", "race_ethnicity",
                                                    "SES", *TRAITS])
        writer.writeheader()
        for n in range(rows):
            strong = n % 2 == 0
            writer.writerow({"text_id_kaggle": f"E{n}", "full_text": STRONG if strong else WEAK,
                             "grade": 10, "gender": "Female" if n % 4 < 2 else "Male",
                             "race_ethnicity": "A" if n % 3 else "B", "SES": "x",
                             **{t: "4.0" if strong else "1.5" for t in TRAITS}})


def test_feedback_core_passes_its_thresholds_with_the_offline_model(runtime, tmp_path):
    report = tmp_path / "run.json"
    done = beacon("eval", "feedback-core", "--json", "--report", str(report), timeout=300)
    assert done.returncode == 0, done.stdout.decode()[-2000:] + done.stderr.decode()[-2000:]
    summary = json.loads(done.stdout)
    assert summary["items"] == 28 and summary["errors"] == 0 and summary["model"] == "offline"
    assert "argument-writing/claim" in summary["per_criterion"] and "qwk" in summary["per_criterion"]["argument-writing/claim"]
    assert summary["overall"]["n"] == 52 and summary["retrieval"]["hit_at_3"] == 1.0
    assert all(t["ok"] for t in summary["thresholds"])
    assert summary["projects"]["gap_rate"] == 1.0 and summary["injection"]["flagged_rate"] == 1.0
    saved = json.loads(report.read_text())
    assert len(saved["run"]["items"]) == 28 and saved["summary"]["suite"] == "feedback-core"


def test_a_corpus_suite_maps_scores_measures_bias_and_reports(tmp_path):
    data = tmp_path / "corpus.csv"
    _corpus(data)
    html = tmp_path / "report.html"
    first = beacon("eval", "ellipse", "--data", str(data), "--json", timeout=120)
    assert first.returncode == 0, first.stderr.decode()
    summary = json.loads(first.stdout)
    assert summary["items"] == 24 and set(summary["per_criterion"]) == set(TRAITS)
    cohesion = summary["per_criterion"]["Cohesion"]
    assert cohesion["n"] == 24 and cohesion["confusion"][0][0] + cohesion["confusion"][3][3] > 0
    # Strong essays (human 4.0 -> level 4) get higher drafted levels than weak ones (1.5 -> level 1).
    assert summary["overall"]["qwk"] > 0.3
    assert set(summary["fairness"]) == {"gender", "race_ethnicity", "SES"}
    assert summary["disagreements"][0]["distance"] >= summary["disagreements"][-1]["distance"]
    previous = tmp_path / "previous.json"
    previous.write_text(json.dumps({"summary": summary}))
    again = beacon("eval", "ellipse", "--data", str(data), "--limit", "10", "--report", str(html),
                   "--against", str(previous), timeout=120)
    assert again.returncode == 0, again.stderr.decode()
    out = again.stdout.decode()
    assert "Cohesion" in out and "overall QWK" in out  # terminal table and the side-by-side comparison
    page = html.read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "Side by side" in page
    assert "http" not in page.split("<body>")[1]  # self-contained: opens offline


def test_thresholds_fail_the_command_and_bad_input_is_one_clear_line(tmp_path):
    data = tmp_path / "corpus.csv"
    _corpus(data, rows=6)
    strict = tmp_path / "strict.yaml"
    suite = (PROJECT / "evals" / "ellipse.yaml").read_text().replace("rubric: ellipse/rubric.yaml",
                                                                      f"rubric: {PROJECT / 'evals/ellipse/rubric.yaml'}")
    strict.write_text(suite + "  qwk_min: 0.99\n  exact_min: 1.0\n")
    failed = beacon("eval", str(strict), "--data", str(data), timeout=120)
    assert failed.returncode == 1 and "FAIL exact_min" in failed.stdout.decode()

    missing = beacon("eval", "no-such-suite")
    assert missing.returncode == 3 and "no eval suite 'no-such-suite'" in missing.stderr.decode()
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    bad = beacon("eval", str(broken))
    assert bad.returncode != 0 and len(bad.stderr.decode().strip().splitlines()) == 1
    assert "not valid YAML" in bad.stderr.decode()
    nodata = beacon("eval", "ellipse", "--data", str(tmp_path / "absent.csv"))
    assert nodata.returncode == 3 and "no ELLIPSE data" in nodata.stderr.decode()
    holes = tmp_path / "holes.csv"
    _corpus(holes, rows=4)
    with holes.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows[1]["Conventions"] = ""  # a missing score: the row is left out and counted
    with holes.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    partial = beacon("eval", "ellipse", "--data", str(holes), "--json")
    assert partial.returncode == 0 and json.loads(partial.stdout)["skipped"] == 1
    assert json.loads(partial.stdout)["items"] == 3
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n")
    columns = beacon("eval", "ellipse", "--data", str(wrong))
    assert columns.returncode != 0 and "missing columns" in columns.stderr.decode()
