"""The interface in the person's language: a student whose profile says Spanish reads Spanish
chrome (``<html lang="es">``, dates and numbers the Spanish way, errors too), an English student
English; the sign-in page follows the browser. The Spanish catalogue holds every message of the
student and family pages, translated and not fuzzy, so it cannot fall behind them."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest
from babel.dates import format_skeleton
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from beacon.school import service as school
from beacon.school.auth import hash_password
from beacon.school.models import User
from beacon.school.schemas import StudentSeed
from beacon.web import i18n
from tests.web.test_browser import CHROMIUM, PASSWORD, _launch, _shot, _sign_in
from tests.web.test_mastery_pages import _axe_clean

WEB = Path(i18n.__file__).resolve().parent
TEMPLATES = WEB / "templates"
# The pages a student or a family reads (the progress partials serve both), and what every page shares.
FAMILY_PAGES = ("base.html", "login.html", "student_*.html", "guardian_*.html", "_progress_*.html", "_portfolio_entries.html", "report.html")


def _student_and_family_messages() -> dict[tuple[str, str | None], str]:
    """Every message of those templates and of the web package's Python (``_``, ``N_``), with its
    context (pgettext's, else None) and where it was found, by Babel's own extractors as
    babel.cfg configures them."""
    found = {}
    for path in sorted({p for pattern in FAMILY_PAGES for p in TEMPLATES.glob(pattern)}):
        for _line, message, _comments, context in extract_from_file("jinja2", path, options={"trimmed": "true"}):
            found[message if isinstance(message, str) else message[0], context] = path.name
    for path in sorted(WEB.glob("*.py")):
        for _line, message, _comments, context in extract_from_file("python", path):
            found[message if isinstance(message, str) else message[0], context] = path.name
    return found


def _spanish():
    with (i18n.LOCALE_DIR / "es" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale="es")


def test_the_spanish_catalogue_has_every_student_and_family_message_translated():
    catalog, messages = _spanish(), _student_and_family_messages()
    assert len(messages) > 60  # the extraction found the pages (a wrong path would find nothing)
    entries = {key: catalog.get(*key) for key in messages}
    missing = [f"{where}: {m!r}" for (m, ctx), where in messages.items() if entries[m, ctx] is None]
    fuzzy = [f"{where}: {m!r}" for (m, ctx), where in messages.items() if entries[m, ctx] and entries[m, ctx].fuzzy]
    untranslated = [f"{where}: {m!r}" for (m, ctx), where in messages.items() if entries[m, ctx] and not all(
        [entries[m, ctx].string] if isinstance(entries[m, ctx].string, str) else entries[m, ctx].string)]
    assert not missing, "not in es/messages.po (run pybabel extract and update: web/i18n.py):\n" + "\n".join(missing)
    assert not fuzzy, "fuzzy in es/messages.po:\n" + "\n".join(fuzzy)
    assert not untranslated, "untranslated in es/messages.po:\n" + "\n".join(untranslated)
    # Placeholders kept (%(title)s in both), and the plural forms Spanish needs.
    problems = [(message.id, [str(e) for e in errors]) for message, errors in catalog.check()]
    assert not problems, problems


def test_the_status_words_and_raised_messages_are_the_codes_own():
    """The words translated later (N_) are held to where they come from: a changed English
    sentence in intake or a router would otherwise go out untranslated without anyone noticing."""
    from beacon.feedback.router import STATUS_FOR_STUDENT
    from beacon.projects.router import STATUS_FOR_STUDENT as PROJECT_STATUS

    assert set(STATUS_FOR_STUDENT.values()) | set(PROJECT_STATUS.values()) <= set(i18n.STATUS_WORDS)
    source = "".join((Path(i18n.__file__).parents[1] / name).read_text(encoding="utf-8") for name in (
        "feedback/intake.py", "feedback/service.py", "projects/service.py", "web/pages.py"))
    for message in i18n.RAISED:
        for piece in re.split(r"%\(\w+\)s", message):
            assert piece in source, f"{message!r}: {piece!r} is not raised anywhere any more"


class _Request:
    """What ``i18n.language`` reads of a request."""

    def __init__(self, lang):
        self.state = type("State", (), {"lang": lang})()
        self.headers = {}


def test_a_raised_message_is_translated_with_its_parts_and_numbers():
    from beacon.errors import InvalidInput
    from beacon.feedback.intake import decode_work

    spanish, english = _Request("es"), _Request("en")
    with pytest.raises(InvalidInput) as empty:
        decode_work(b"", "your text", 1000)
    assert i18n.raised(str(empty.value), spanish) == "tu texto está vacío: no hay ningún trabajo que leer"
    assert i18n.raised(str(empty.value), english) == str(empty.value)
    with pytest.raises(InvalidInput) as large:
        decode_work(b"x" * 12_345, "essay.txt", 10_000)
    assert i18n.raised(str(large.value), spanish) == \
        "essay.txt es demasiado largo: tiene 12.345 caracteres y el límite es 10.000"
    assert i18n.raised("something nobody planned for", spanish) == "something nobody planned for"


def test_the_browser_language_decides_only_before_sign_in():
    assert i18n.from_accept_language("es-MX,es;q=0.9,en;q=0.5") == "es"
    assert i18n.from_accept_language("fr-CA,fr;q=0.9,es;q=0.8") == "es"  # no French: the next it asks for
    assert i18n.from_accept_language("en-US,es;q=0.5") == "en"
    assert i18n.from_accept_language("es;q=0, de") == "en"  # q=0 is a refusal
    assert i18n.from_accept_language(None) == i18n.from_accept_language("*") == "en"
    assert i18n.supported("pt-BR") is None and i18n.supported("ES_es") == "es"


def test_a_page_not_yet_translated_is_served_as_english():
    from jinja2 import DictLoader, Environment

    env = Environment(loader=DictLoader({
        "marked.html": '<p>{{ _("Hand in") }}</p>', "trans.html": "{% trans %}Hand in{% endtrans %}",
        "plain.html": "<p>Hand in {{ title_(x) }}</p>"}))
    assert i18n.is_translated(env, "marked.html") and i18n.is_translated(env, "trans.html")
    assert not i18n.is_translated(env, "plain.html")


@pytest.fixture
async def speakers(runtime):
    """A Spanish-speaking student and an English-speaking one, in one class."""
    tag = uuid.uuid4().hex[:8]
    async with runtime.db.transaction() as session:
        sch = await school.ensure_school(session, f"i18n-{tag}", "Escuela Bilingüe")
        klass = await school.ensure_class(session, sch, "Humanidades 8")
        lucia = await school.ensure_student(session, sch, klass, StudentSeed(
            first_name="Lucía", last_name="Ramírez", email=f"lucia-{tag}@example.org", grade=8,
            preferred_language="es"))
        sam = await school.ensure_student(session, sch, klass, StudentSeed(
            first_name="Sam", last_name="Lee", email=f"sam-{tag}@example.org", grade=8))
        for person in (lucia, sam):
            (await session.get(User, person.id)).password_hash = hash_password(PASSWORD)
    return {"es": lucia.email, "en": sam.email}


async def _hand_in(client, title, body):
    home = await client.get("/student")
    csrf = re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)
    return await client.post("/student/submissions", data={"csrf": csrf, "title": title, "body": body})


async def _submitted_at(runtime, email):
    from beacon.feedback import repository as submissions
    from beacon.school import repository as people

    async with runtime.db.transaction() as db:
        student = await people.user_by_email(db, email)
        return (await submissions.submissions_of(db, student.id))[0].created_at


async def test_a_spanish_speaking_student_reads_spanish_and_an_english_one_english(api, runtime, speakers):
    _, client = api
    # A browser asking for English does not matter once she is signed in: her profile does.
    client.headers["accept-language"] = "en-US,en;q=0.9"
    assert (await client.post("/login", data={"email": speakers["es"], "password": PASSWORD})).status_code == 303
    assert (await _hand_in(client, "El agua del pueblo", "El pozo del pueblo se secó en agosto.")).status_code == 303
    empty = await _hand_in(client, "Nada", "")
    assert empty.status_code == 422 and "tu texto está vacío: no hay ningún trabajo que leer" in empty.text

    page = await client.get("/student")
    home = page.text
    assert page.headers["content-language"] == "es"
    assert '<html lang="es">' in home and "<title>Mi trabajo · Beacon</title>" in home
    for words in ("Entregar un trabajo", "Lo que entregaste", "con tu docente", "Pedir ideas de proyectos",
                  "Cerrar sesión", "Lucía Ramírez · estudiante", 'placeholder="patineta, grabar videos, física"'):
        assert words in home, words
    for english in ("My work", "Hand in", "with your teacher", "Sign out", "Project ideas"):
        assert english not in home, english
    when = await _submitted_at(runtime, speakers["es"])
    spanish_day = format_skeleton("MMMd", when, locale="es")  # "4 oct"
    assert re.fullmatch(r"\d{1,2} [a-z]{3,4}\.?", spanish_day)
    # the day, then the 24-hour time as CLDR writes it in Spanish ("H:mm": 0:08, 14:30)
    assert f"{spanish_day}, {when.hour}:{when:%M}" in home
    assert "hasta 10 MB y 40 páginas" in home
    csrf = re.search(r'name="csrf" value="([^"]+)"', home).group(1)
    asked = await client.post("/student/projects/requests", data={"csrf": csrf, "interests": "fútbol", "weeks": "muchas"})
    assert asked.status_code == 303  # the form's problem travels to the next page, in her language
    assert "Semanas que tienes: un número entero del 1 al 20." in (await client.get("/student")).text
    # Her released feedback stays in its own language; the export's chrome is hers.
    export = await client.get("/student/export")
    assert export.text.startswith("# Retroalimentación para Lucía Ramírez")
    await client.post("/logout", data={"csrf": csrf})

    client.headers["accept-language"] = "es-MX,es;q=0.9"  # and his browser asks for Spanish
    await client.post("/login", data={"email": speakers["en"], "password": PASSWORD})
    await _hand_in(client, "Town water", "The town well ran dry in August.")
    home = (await client.get("/student")).text
    assert '<html lang="en">' in home and "<title>My work · Beacon</title>" in home
    for words in ("Hand in work", "What you handed in", "with your teacher", "Sign out", "Sam Lee · student"):
        assert words in home, words
    when = await _submitted_at(runtime, speakers["en"])
    assert f"{when:%b} {when.day}, " in home and "Entregar" not in home


async def test_the_sign_in_page_follows_the_browser(api):
    _, client = api
    spanish = await client.get("/login", headers={"accept-language": "es-ES,es;q=0.9,en;q=0.8"})
    assert '<html lang="es">' in spanish.text and "Iniciar sesión" in spanish.text and "Contraseña" in spanish.text
    wrong = await client.post("/login", data={"email": "nobody@example.org", "password": "nope"},
                              headers={"accept-language": "es"})
    assert wrong.status_code == 401 and "El correo electrónico o la contraseña no son correctos." in wrong.text
    english = await client.get("/login", headers={"accept-language": "de-DE,de;q=0.9"})
    assert '<html lang="en">' in english.text and "Sign in" in english.text


PHONE = {"width": 390, "height": 844}


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("BEACON_REQUIRE_BROWSER"),
                    reason="Debian's chromium is not installed (.ci/run installs it)")
async def test_the_spanish_student_home_on_a_phone_is_accessible_and_never_scrolls_sideways(server, speakers):
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await _launch(p)
        # The browser asks for English: the page is in her language all the same.
        page = await browser.new_page(viewport=PHONE, locale="en-US")
        await _sign_in(page, server, speakers["es"])
        await page.fill("input[name=title]", "El agua del pueblo: una propuesta para compartir el pozo")
        await page.fill("textarea[name=body]", "El pozo del pueblo se secó en agosto. Propongo turnos por barrio.")
        await page.click("button:has-text('Entregar')")
        await page.wait_for_load_state("networkidle")
        assert await page.get_attribute("html", "lang") == "es"
        assert await page.title() == "Mi trabajo · Beacon"
        assert await page.locator("text=con tu docente").count() == 1
        await _axe_clean(page)
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        await _shot(page, "30-student-home-es-phone")
        await browser.close()

