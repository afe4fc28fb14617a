"""What every page module shares: the templates and their helpers, ``render`` (with the flash
message), the page role dependencies, and the work cut into marked segments."""

from __future__ import annotations

import uuid
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import HTTPException, Request, status
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from beacon.llm.client import REASONS
from beacon.review import service as review
from beacon.rubrics.translations import read_translations
from beacon.school import repository as school
from beacon.school.auth import current_user, masked_csrf, require
from beacon.school.models import User
from beacon.text import guess_language
from beacon.web import flash, i18n

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
i18n.install(templates.env)
templates.env.globals["informational"] = lambda flag: flag.split(":", 1)[0] in review.INFORMATIONAL_FLAGS


def flag_title(flag: str) -> str:
    """What a flag means, for the hover text beside it."""
    name, _, detail = flag.partition(":")
    if name == "model_fault":
        return f"Why the configured model did not write this draft: {REASONS.get(detail, detail)}."
    if name == "model_fallback":
        return "The configured model could not answer; the offline model wrote this draft."
    return FLAG_TITLES.get(name, "")


FLAG_TITLES = {
    "offline_model": "Written by Beacon's offline model.",
    "repaired": "A reply needed a repair round before it was valid.",
    "no_evidence": "A level above the first has no quoted evidence.",
    "prompt_injection": "The work contains text addressed to the model; it is marked in red below.",
}
templates.env.globals["flag_title"] = flag_title


@lru_cache(maxsize=4)
def _competency_titles(directory: Path) -> dict[tuple[str, str], str]:
    return {key: text.title for key, text in read_translations(directory)[0].items()}


@pass_context
def competency_name(context, competency_id: str) -> str:
    """A competency as it reads inside a sentence ("your argument writing work"), in the page's
    language where the library has its title in it (rubrics/translations/), else its id in words."""
    lang = context.get("lang") or i18n.SOURCE
    if lang != i18n.SOURCE:
        directory = context["request"].app.state.runtime.settings.rubrics_dir / "translations"
        if title := _competency_titles(directory).get((competency_id, lang)):
            return title[:1].lower() + title[1:]
    return competency_id.replace("-", " ")


templates.env.globals["competency_name"] = competency_name
templates.env.globals["language_of_text"] = guess_language  # a student's words' lang, for screen readers


NEXT_MAX_CHARS = 500  # a deep link longer than this is not one Beacon writes: sign in lands on the home page


def safe_next(value) -> str | None:
    """Where to go after signing in, if it is a path on this site: one "/" first (not "//" or
    "/\\", which a browser reads as another host), no scheme or host, no control characters, short.
    Anything else is None: the home page, never an open redirect."""
    if not isinstance(value, str) or not 1 < len(value) <= NEXT_MAX_CHARS or value[0] != "/":
        return None
    if value[1] in "/\\" or "\\" in value or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return None
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else None


def login_url(request: Request) -> str:
    """/login, bringing the page a signed-out person asked for back after sign-in (GETs only: a
    form posted without a session is not replayed)."""
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or safe_next(wanted) is None or wanted == "/":
        return "/login"
    return f"/login?next={quote(wanted, safe='/')}"


async def page_user(request: Request) -> User:
    try:
        user = await current_user(request)
    except HTTPException as exc:
        if exc.status_code == status.HTTP_401_UNAUTHORIZED:
            raise HTTPException(status.HTTP_303_SEE_OTHER, headers={"Location": login_url(request)}) from None
        raise
    request.state.lang = await _language_of(request, user)
    return user


async def _language_of(request: Request, user: User) -> str:
    """The interface language of a signed-in person (``school.preferred_language``); one
    without a catalogue is English."""
    own = user.preferred_language
    if user.role == "student":  # only a student's is in another row (the profile): read it
        async with request.app.state.runtime.db.transaction() as db:
            own = await school.preferred_language(db, user)
    return i18n.supported(own) or i18n.SOURCE


def uuid_or_none(value: str | None) -> uuid.UUID | None:
    """A query or form value as an id, or None (a malformed id finds nothing, like a missing one)."""
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def page_role(*roles: str):
    """``require`` for pages: signed-out visitors are sent to the sign-in page."""
    return require(*roles, signed_in=page_user)


teacher, student, admin = page_role("teacher"), page_role("student"), page_role("admin")


def render(request: Request, name: str, **context) -> HTMLResponse:
    """A page in the person's language (``lang``); a message left by the redirect that led here
    (``flash``) is shown once."""
    shown = flash.read(request)
    for key, value in shown.items():
        if not context.get(key):
            context[key] = value
    context.setdefault("lang", i18n.language(request) if i18n.is_translated(templates.env, name) else i18n.SOURCE)
    token = getattr(request.state, "csrf", "")
    response = templates.TemplateResponse(request, name, {"csrf": masked_csrf(token) if token else "", **context})
    response.headers["Content-Language"] = context["lang"]
    if flash.FLASH_COOKIE in request.cookies:
        response.delete_cookie(flash.FLASH_COOKIE)
    return response


def marked(text: str, content: dict, injections: list[tuple[int, int, str]] = ()) -> list[dict]:
    """The work cut into plain, evidence and injected segments (escaped by the template, never
    raw). Text that tries to instruct the grader is marked as such, over any evidence in it."""
    spans = sorted(
        {(e["start"], e["end"], c["title"], False) for c in content.get("criteria", []) for e in c.get("evidence", [])}
        | {(start, end, "Instructions to the grader: ignored", True) for start, end, _ in injections}
    , key=lambda s: (s[0], not s[3]))
    segments, cursor = [], 0
    for start, end, title, injected in spans:
        if start < cursor or end > len(text):
            continue  # overlapping: keep the first (an injection, where one starts)
        segments.append({"text": text[cursor:start], "criterion": None})
        segments.append({"text": text[start:end], "criterion": title, "injected": injected})
        cursor = end
    segments.append({"text": text[cursor:], "criterion": None})
    return segments
