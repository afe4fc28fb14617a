"""The ``beacon`` command. Heavy libraries (SQLAlchemy, litellm, pgserver) load inside the
commands that need them, so ``beacon --help`` answers at once."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

app = typer.Typer(
    help="Beacon: formative feedback and project design for mastery-based schools.\n\n"
    "Nothing Beacon drafts reaches a student without a teacher's approval.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
rubrics_app = typer.Typer(help="The competency rubric library.", no_args_is_help=True)
projects_app = typer.Typer(help="Project ideas from a student's interests and growth areas.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(rubrics_app, name="rubrics")
app.add_typer(projects_app, name="projects")
roster_app = typer.Typer(help="A school's roster from its student information system.", no_args_is_help=True)
app.add_typer(roster_app, name="roster")

T = TypeVar("T")
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"beacon: error: {message}", err=True)
    raise typer.Exit(code)


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run an async command; a BeaconError becomes one clear line and a non-zero exit."""
    from beacon.errors import BeaconError

    try:
        return asyncio.run(work())
    except BeaconError as exc:
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as exc:  # a bug or an unexpected failure: one line here, the trace in a file
        fail(f"unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
             f"(details in {_save_trace()})", 70)
    raise AssertionError("unreachable")


def _save_trace() -> str:
    import tempfile
    import traceback

    from beacon.config import get_settings

    try:
        folder = get_settings().data_dir
        folder.mkdir(parents=True, exist_ok=True)
    except Exception:
        folder = Path(tempfile.gettempdir())
    path = folder / "last-error.log"
    path.write_text(traceback.format_exc(), encoding="utf-8")
    return str(path)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@app.command()
def demo(
    serve: Annotated[bool, typer.Option(help="Serve the review app afterwards, until Ctrl-C.")] = True,
    port: Annotated[int, typer.Option(help="Port for the review app.")] = 8000,
) -> None:
    """Set up the demo school, draft feedback on sample work, and serve the review app."""
    from functools import partial

    from beacon.demo.service import run_demo

    run(partial(run_demo, f"http://127.0.0.1:{port}"))
    if serve:
        import uvicorn

        from beacon.web.app import create_app

        typer.echo(f"\nReview app: http://127.0.0.1:{port}/login (Ctrl-C to stop)")
        uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    worker: Annotated[bool, typer.Option(help="Run a drafting worker in this process.")] = True,
) -> None:
    """Serve Beacon over HTTP with an in-process drafting worker."""
    import uvicorn

    from beacon.web.app import create_app

    uvicorn.run(create_app(worker=worker, warm=True), host=host, port=port, log_level="info")


@app.command()
def worker() -> None:
    """Run a drafting worker (as many as you like, on any machine with the database URL)."""
    from beacon.runtime import QUEUES, open_runtime, open_workflows, run_jobs

    async def work() -> None:
        from beacon import offload
        from beacon.llm.client import check_server, concurrency

        async with open_runtime() as rt, open_workflows(rt) as workflows:
            await offload.warm()
            problem = await check_server(rt.settings)
            if problem:
                typer.echo(f"beacon worker: warning: {problem}; drafts wait in the queue until it answers", err=True)
            typer.echo(f"beacon worker: queues {', '.join(QUEUES)}, concurrency {concurrency(rt.settings)}")
            await run_jobs(rt, workflows, wait=True, own_signals=True)

    run(work)


@app.command()
def draft(
    file: Annotated[str, typer.Argument(help="A .txt/.md file of student work, or - for stdin.")],
    student: Annotated[str | None, typer.Option(help="Student id or email (default: a demo student).")] = None,
    rubric: Annotated[str | None, typer.Option(help="Use this competency's rubric instead of retrieval.")] = None,
    title: Annotated[str | None, typer.Option(help="Title of the work (default: the file name).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Store a submission, draft feedback on it, and stop for the teacher's review."""
    from beacon.config import get_settings
    from beacon.feedback.intake import read_work
    from beacon.runtime import open_runtime, open_workflows

    settings = get_settings()

    async def work() -> dict:
        from beacon.cli.drafting import draft_from_cli

        name, text = read_work(file, settings.max_work_chars)
        async with open_runtime(settings) as rt, open_workflows(rt) as workflows:
            return await draft_from_cli(rt, workflows, text, name=title or name, student=student, rubric=rubric)

    result = run(work)
    if as_json:
        print_json(result)
        return
    typer.echo(f"Draft {result['draft_id']} · {result['status']} · rubric {result['rubric_id']} · model {result['model']}")
    for c in result["criteria"]:
        quotes = "; ".join(f'"{e["quote"][:70]}"' for e in c["evidence"]) or "(no evidence found)"
        typer.echo(f"  {c['criterion_id']:<28} level {c['level']}  {quotes}")
    typer.echo("\n" + result["feedback"])
    if result["flags"]:
        typer.echo(f"\nflags: {', '.join(result['flags'])}")
    typer.echo("\nWaiting for a teacher's review: nothing is shown to the student until it is approved.")


@app.command("eval")
def eval_suite(
    suite: Annotated[str, typer.Argument(help="A suite in evals/ (feedback-core, ellipse) or a path to one.")],
    model: Annotated[str | None, typer.Option(help="Model to evaluate (default: BEACON_MODEL).")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many items.")] = None,
    report: Annotated[Path | None, typer.Option(help="Write a report: .html (self-contained) or .json.")] = None,
    data: Annotated[Path | None, typer.Option(help="The corpus file for corpus suites (ELLIPSE's CSV).")] = None,
    against: Annotated[Path | None, typer.Option(help="An earlier .json report to compare with, side by side.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Measure how drafts agree with human raters and the rubric; exit 1 when a threshold fails."""
    from beacon.config import get_settings

    settings = get_settings()
    if model:
        settings = settings.model_copy(update={"model": model})

    async def work():
        from beacon.cli.evals import evaluate_here

        return await evaluate_here(settings, suite, limit=limit, data=data)

    from beacon.cli.evals import read_summary, write_report
    from beacon.errors import BeaconError
    from beacon.evals import report as reports

    try:
        previous = read_summary(against) if against else None
    except BeaconError as exc:
        fail(str(exc), exc.exit_code)
    summary, full = run(work)
    if report:
        write_report(report, summary, full, previous)
    if as_json:
        print_json(summary)
    else:
        typer.echo(reports.terminal(summary))
        if previous:
            typer.echo("\n" + reports.compare_text(previous, summary))
        if report:
            typer.echo(f"report: {report}")
    if not reports.passed(summary):
        raise typer.Exit(1)


@projects_app.command("suggest")
def projects_suggest(
    interests: Annotated[str, typer.Option(help='The student\'s interests, e.g. "skateboarding, filming, physics".')],
    student: Annotated[str | None, typer.Option(help="Student id or email (default: a demo student).")] = None,
    competency: Annotated[list[str] | None, typer.Option(help="A competency to grow (repeat for more); default: from the student's feedback.")] = None,
    weeks: Annotated[int | None, typer.Option(help="Weeks available (1-20).")] = None,
    working: Annotated[str, typer.Option(help="solo, group or either.")] = "either",
    as_json: JsonOption = False,
) -> None:
    """Propose three projects for a student and stop for the teacher's review."""
    from beacon.runtime import open_runtime, open_workflows

    async def work() -> dict:
        from beacon.cli.projects import suggest_from_cli

        async with open_runtime() as rt, open_workflows(rt) as workflows:
            return await suggest_from_cli(rt, workflows, interests=interests, student=student,
                                          competencies=competency or [], weeks=weeks, working=working)

    result = run(work)
    if as_json:
        print_json(result)
        return
    typer.echo(f"Project ideas {result['draft_id']} · {result['status']} · model {result['model']}")
    for target in result["targets"]:
        typer.echo(f"  grows {target['competency_id']} ({', '.join(target['criteria'])}): {target['reason']}")
    for n, p in enumerate(result["proposals"], start=1):
        typer.echo(f"\n{n}. {p['title']}  [{p['product_kind']}, {p['duration_weeks']} weeks]")
        typer.echo(f"   {p['driving_question']}")
        typer.echo(f"   why: {p['why_it_fits']}")
        for m in p["milestones"]:
            judged = ", ".join(f"{c['competency_id']}/{c['criterion_id']}" for c in m["criteria"])
            typer.echo(f"   - {m['title']}: {m['evidence']} ({judged})")
        if p["safety_note"]:
            typer.echo(f"   safety: {p['safety_note']}")
    if result["flags"]:
        typer.echo(f"\nflags: {', '.join(result['flags'])}")
    typer.echo("\nWaiting for a teacher's review: nothing is shown to the student until it is approved.")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the latest schema."""
    from beacon.runtime import open_runtime

    async def work() -> None:
        from beacon.db.engine import redacted
        from beacon.db.migrate import current_revision

        async with open_runtime(rubrics=False) as rt:
            typer.echo(f"database {redacted(rt.db.url)} at revision {await current_revision(rt.db)}")

    run(work)


@rubrics_app.command("validate")
def rubrics_validate(
    directory: Annotated[Path | None, typer.Argument(help="Defaults to the configured library.")] = None,
) -> None:
    """Check every rubric file; report each problem as file: field: reason."""
    from beacon.config import get_settings
    from beacon.rubrics.evidence import read_profiles
    from beacon.rubrics.library import read_library
    from beacon.rubrics.translations import mismatches, read_translations

    folder = directory or get_settings().rubrics_dir
    library = read_library(folder)
    profiles, profile_problems = read_profiles(folder / "evidence")
    problems = [str(p) for p in library.problems] + profile_problems
    # Retrieval ranks on evidence profiles: a competency without one would never come first.
    problems += [f"evidence/{r.id}.yaml: missing (retrieval needs what evidence of {r.id} looks like)"
                 for _, r in library.rubrics if r.id not in profiles]
    texts, text_problems = read_translations(folder / "translations")
    rubrics = {r.id: r for _, r in library.rubrics}
    problems += text_problems + [f"translations/{lang}/{cid}.yaml: no such rubric" for cid, lang in texts if cid not in rubrics]
    problems += [f"translations/{lang}/{cid}.yaml: {why}" for (cid, lang), text in texts.items() if cid in rubrics
                 for why in mismatches(rubrics[cid], text)]
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        fail(f"{len(problems)} problem(s) in {folder}; nothing was loaded", 2)
    languages = sorted({lang for _, lang in texts})
    typer.echo(f"{len(library.rubrics)} rubrics, their evidence profiles and {len(texts)} translations "
               f"({', '.join(languages) or 'none'}) in {folder} are valid")


@rubrics_app.command("list")
def rubrics_list(as_json: JsonOption = False) -> None:
    """List the competencies in the library."""
    from beacon.runtime import open_runtime

    async def work() -> list[dict]:
        from beacon.rubrics import repository

        async with open_runtime() as rt, rt.db.transaction() as session:
            return [
                {
                    "id": v.competency_id,
                    "title": v.title,
                    "description": v.description,
                    "subject": v.subject,
                    "grade_band": v.grade_band,
                    "version": v.version,
                    "criteria": [c["id"] for c in v.definition["criteria"]],
                    "mastery_threshold": v.mastery_threshold,
                }
                for v in await repository.current_versions(session)
            ]

    rows = run(work)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['id']:<32} v{row['version']:<3} {row['subject']:<22} {row['title']}")


@rubrics_app.command("show")
def rubrics_show(competency_id: str, as_json: JsonOption = False) -> None:
    """Show one rubric: criteria and the descriptor of every level."""
    from beacon.runtime import open_runtime

    async def work():
        from beacon.rubrics.service import get_rubric

        async with open_runtime() as rt, rt.db.transaction() as session:
            return await get_rubric(session, competency_id)

    version = run(work)
    rubric = version.definition
    if as_json:
        print_json({**rubric, "version": version.version, "rubric_version_id": version.id})
        return
    labels = {lv["level"]: lv["label"] for lv in rubric["levels"]}
    typer.echo(f"{rubric['title']} ({rubric['id']} v{version.version}) · {rubric['subject']} · grades {rubric['grade_band']}")
    typer.echo(rubric["description"].strip())
    typer.echo(f"Mastery: {labels[rubric['mastery_threshold']]} (level {rubric['mastery_threshold']}) on every criterion\n")
    for line in rubric_lines(rubric):
        typer.echo(line)


def rubric_lines(rubric: dict) -> list[str]:
    """Each criterion, then a line per level: number, label, descriptor, in columns as wide as
    this rubric's longest number and label (a 12-level continuum has long ones)."""
    labels = {lv["level"]: lv["label"] for lv in rubric["levels"]}
    label_width, number_width = max(map(len, labels.values())), len(str(max(labels)))
    lines = []
    for criterion in rubric["criteria"]:
        lines.append(f"  {criterion['title']} [{criterion['id']}]: {criterion['description']}")
        for level, descriptor in sorted(criterion["levels"].items(), key=lambda kv: int(kv[0])):
            lines.append(f"    {level:>{number_width}} {labels[int(level)]:<{label_width}} {descriptor}")
        lines.append("")
    return lines


@rubrics_app.command("match")
def rubrics_match(
    file: Annotated[str, typer.Argument(help="A .txt/.md file of student work, or - for stdin.")],
    competency: Annotated[
        list[str] | None, typer.Option("--competency", "-c", help="Only these competencies (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=50)] = 5,
    as_json: JsonOption = False,
) -> None:
    """Rank the competencies a piece of work gives evidence of, and say why."""
    from beacon.config import get_settings
    from beacon.feedback.intake import read_work
    from beacon.runtime import open_runtime

    settings = get_settings()

    async def work():
        from beacon.rubrics.service import match

        _, text = read_work(file, settings.max_work_chars)
        async with open_runtime(settings) as rt, rt.db.transaction() as session:
            return await match(session, text, rt.embedder, competency_ids=competency, limit=limit)

    matches = run(work)
    if as_json:
        print_json([m.model_dump() for m in matches])
        return
    for rank, m in enumerate(matches, 1):
        typer.echo(
            f"{rank}. {m.title} ({m.id} v{m.rubric_version})  score {m.score:.2f} "
            f"(cosine {m.similarity:.2f}, text rank {m.text_rank:.3f})"
        )
        typer.echo(f"   criteria: {', '.join(c.title for c in m.criteria)}")
        if m.why:
            typer.echo(f"   shared words: {', '.join(m.why)}")


@rubrics_app.command("reindex")
def rubrics_reindex() -> None:
    """Rebuild the rubric vectors for the configured embedding model."""
    from beacon.runtime import open_runtime

    async def work() -> tuple[str, int]:
        from beacon.rubrics.service import reindex

        async with open_runtime() as rt, rt.db.transaction() as session:
            return rt.embedder.name, await reindex(session, rt.embedder)

    model, count = run(work)
    typer.echo(f"embedded {count} rubric passages with {model}")


@roster_app.command("import")
def roster_import(
    folder: Annotated[Path, typer.Argument(help="A OneRoster 1.1 CSV export: users.csv [classes.csv enrollments.csv].")],
    admin: Annotated[str, typer.Option(help="Email of the school's admin the import is made as.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would change; change nothing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Import people, classes, enrollments and families; all or nothing (``school/roster.py``)."""
    from beacon.errors import NotFound
    from beacon.runtime import open_runtime
    from beacon.school import repository, roster

    files = {}
    for name in roster.FILES:
        path = folder / f"{name}.csv"
        if path.is_file():
            with path.open("rb") as f:
                files[name] = f.read(roster.MAX_FILE_BYTES + 1)

    async def work():
        async with open_runtime(rubrics=False) as rt, rt.db.transaction() as session:
            user = await repository.user_by_email(session, admin)
            if user is None or user.role != "admin":
                raise NotFound(f"no admin {admin}")
            try:
                return await roster.import_roster(session, user, files, dry_run=dry_run)
            except roster.RosterInvalid as exc:
                return exc

    report = run(work)
    if isinstance(report, Exception):
        for e in report.errors:
            typer.echo(f"{e.file}:{e.line or '-'}: {e.field or '-'}: {e.message}", err=True)
        fail(str(report), 2)
    if as_json:
        print_json(report)
        return
    added = "would add" if dry_run else "added"
    for kind, counts in [*((f"{r}s", c) for r, c in report["people"].items()), ("classes", report["classes"]),
                         ("enrollments", report["enrollments"]), ("guardian links", report["guardian_links"])]:
        updated = f"   {'would update' if dry_run else 'updated'} {counts['updated']:>5}" if "updated" in counts else ""
        typer.echo(f"{kind:<16} {added} {counts['added']:>5}   unchanged {counts['unchanged']:>5}{updated}")
    for note in report["notes"]:
        typer.echo(f"note: {note}")


def main() -> None:
    app(prog_name="beacon")


if __name__ == "__main__":
    sys.exit(main())
