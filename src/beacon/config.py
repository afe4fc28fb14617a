"""One place for configuration: every setting is a ``BEACON_*`` environment variable."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_PACKAGED_LIBRARY = Path(__file__).resolve().parent / "_library"


def _library_dir(name: str) -> Path:
    """The checkout's folder when running from source, else the copy inside the wheel."""
    in_checkout = PROJECT_ROOT / name
    return in_checkout if in_checkout.is_dir() else _PACKAGED_LIBRARY / name


def _default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("beacon", appauthor=False))


# How ratings become a criterion's value (mastery/calculation.py, docs/mastery.md).
MasteryMethod = Literal["most_recent", "highest", "mean", "decaying_average", "top_n_mean", "power_law", "mode"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BEACON_", extra="ignore")

    # Unset: an embedded PostgreSQL (with pgvector) under data_dir.
    database_url: str | None = None
    # Migrations run as this role (the tables' owner); the app connects as database_url's role,
    # which should own nothing (see db/roles.py). Unset: database_url's role does both.
    database_owner_url: str | None = None
    data_dir: Path = Field(default_factory=_default_data_dir)
    rubrics_dir: Path = Field(default_factory=lambda: _library_dir("rubrics"))
    prompts_dir: Path = Field(default_factory=lambda: _library_dir("prompts"))
    evals_dir: Path = Field(default_factory=lambda: _library_dir("evals"))
    # Where public eval corpora live (never committed): `beacon eval ellipse` reads
    # <eval_data_dir>/ellipse/ellipse_test.csv unless --data says otherwise.
    eval_data_dir: Path = Field(default_factory=lambda: PROJECT_ROOT.parent / "shared" / "data")

    # "offline" or any litellm model string.
    model: str = "offline"
    model_api_base: str | None = None
    # Tried in order when the model fails (after its retries) or keeps answering invalid output.
    # "offline" is a valid last resort: a draft is always possible.
    fallback_models: list[str] = Field(default_factory=list)
    model_timeout_s: float = 60.0
    model_retries: int = 2
    # All model calls for one draft (assess, write, a repair round) together, failed ones
    # included; past it the draft falls back (or its job is retried later).
    draft_deadline_s: float = Field(default=600.0, gt=0)
    model_max_tokens: int = 3000  # a cap: each call asks for what its schema can need (drafters.py)
    # How the answer's JSON Schema is sent (llm/client.response_format): json_schema (OpenAI,
    # Gemini, Ollama, vLLM, llama.cpp server), json_object_schema (llama-cpp-python), json_object.
    model_json_mode: Literal["json_schema", "json_object_schema", "json_object"] = "json_schema"
    # One short assessment call per criterion instead of one for the whole rubric (small models).
    model_per_criterion: bool = False
    embed_model: str = "offline"
    embed_api_base: str | None = None

    # Drafting jobs: at most this many at once per worker process (provider rate limits). Unset:
    # 1 for a model served on this machine (one generation slot: more would only queue there), else 4.
    worker_concurrency: int | None = Field(default=None, ge=1)
    # On SIGTERM running drafts get this long to finish; then their model calls are dropped and
    # their jobs go back to the queue.
    worker_shutdown_s: float = Field(default=10.0, ge=0)
    # Workflow threads of finished work, and finished jobs, are deleted after this many days
    # (drafts, decisions, releases and the audit trail are kept).
    retention_days: int = Field(default=90, ge=1)
    # The mastery record's calculation (docs/mastery.md): the school's method, and the decaying
    # average's weight for the most recent rating. A competency's rubric may override both.
    mastery_method: MasteryMethod = "decaying_average"
    mastery_decay_weight: float = Field(default=0.65, gt=0, lt=1)
    # A "missed" rating (the task asked for a criterion the work did not address): shown apart,
    # or counted as the continuum's lowest level.
    mastery_missed: Literal["apart", "as_lowest"] = "apart"
    # Needs support (mastery/support.py): below threshold after this many attempts at a criterion;
    # no evidence on a competency for this many weeks while classmates have some; no rise over
    # this many ratings; returned work not revised in this many days; this many drafts flagged
    # for judgement or an injection within 60 days.
    support_attempts: int = Field(default=3, ge=2, le=20)
    support_quiet_weeks: int = Field(default=6, ge=1, le=52)
    support_flat_ratings: int = Field(default=4, ge=2, le=20)
    support_revise_days: int = Field(default=14, ge=1, le=365)
    support_flagged_drafts: int = Field(default=3, ge=1, le=50)
    # Feedback is not a grade: level names and scores stay out of student text unless enabled.
    score_language: bool = False

    # Largest student work Beacon accepts, in characters of text.
    max_work_chars: int = 200_000

    # Signs bearer tokens and session cookies. Unset: a random key kept in data_dir/secret.key.
    secret_key: str | None = None
    token_max_age_s: int = 7 * 24 * 3600

    # Per person (or per address before sign-in), in this process; see web/limits.py.
    # Work: hand-ins, project requests and eval runs, each a model run.
    rate_limit_work: str = "3/minute;30/hour"
    rate_limit_sign_in: str = "60/minute"  # per address; accounts are also throttled in the database
    rate_limit_requests: str = "20/second;600/minute"
    # Work requests served at once per process (the rest wait their turn, holding no connection).
    work_at_once: int = Field(default=4, ge=1, le=64)
    # A refused request (429, 413) is answered after this long: refusals cannot be looped fast.
    refusal_delay_s: float = Field(default=1.0, ge=0, le=10)

    # Where links in emails point (no trailing slash): the address people open Beacon at.
    app_url: str = "http://127.0.0.1:8000"
    # Notification emails (notifications/mail.py). No host: notifications stay in-app only.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Beacon <beacon@localhost>"
    # STARTTLS: true (required), false (never), unset (when the server offers it).
    smtp_starttls: bool | None = None
    smtp_timeout_s: float = Field(default=20.0, gt=0)

    @property
    def embedded_pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    def signing_key(self) -> str:
        return self.secret_key or _key_in(self.data_dir / "secret.key")


@lru_cache(maxsize=8)
def _key_in(path: Path) -> str:
    """The random key kept in ``path`` (made on first use); read once per process, not per request."""
    import secrets

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

