"""The interface in the person's language: Babel catalogues, Jinja2's i18n extension (newstyle
gettext), and dates and numbers in the page's locale.

English is the source language (no catalogue); ``src/beacon/locale/<lang>/LC_MESSAGES/messages.po``
holds each other one. Only released feedback has a language of its own (``content.language``):
this is the chrome around it.

Keeping the catalogue current (babel.cfg at the top of the repository says what is read)::

    pybabel extract -F babel.cfg --no-location --no-wrap --sort-output --project Beacon \
        -o src/beacon/locale/messages.pot .
    pybabel update -i src/beacon/locale/messages.pot -d src/beacon/locale --no-wrap --no-fuzzy-matching
    # then translate the new entries of es/LC_MESSAGES/messages.po: tests/web/test_i18n.py names
    # any student or family message left untranslated or fuzzy

In Python, ``_("Wrong email or password.", request)``: the message first, so Babel's default
keywords extract it; ``N_`` marks a message translated later (a status word, a message raised in
English by a layer below the web)."""

from __future__ import annotations

import functools
import re

from babel.core import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.numbers import format_decimal
from fastapi import Request
from jinja2 import Environment, pass_context

from beacon.catalogues import LANGUAGES, LOCALE_DIR, SOURCE, supported, translations  # noqa: F401 (re-exported)


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


# --- Which language ------------------------------------------------------------------------

def from_accept_language(header: str | None) -> str:
    """The first language the browser asks for that Beacon speaks, else English. Only for a
    page nobody is signed in to: a signed-in person's own language wins over their browser's."""
    wanted = []
    for order, part in enumerate((header or "").split(",")[:20]):
        tag, _sep, params = part.partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if weight > 0:
            wanted.append((-weight, order, tag))
    for *_rank, tag in sorted(wanted):
        if found := supported(tag):
            return found
    return SOURCE


def language(request: Request) -> str:
    """This page's language: the signed-in person's (set by ``rendering.page_user``), or the
    browser's before anyone signs in."""
    return getattr(request.state, "lang", None) or from_accept_language(request.headers.get("accept-language"))


# --- Catalogues ----------------------------------------------------------------------------

def _(message: str, request: Request, /, **values) -> str:
    """``message`` in the request's language, with ``values`` put in (``%(name)s``), as the
    templates' ``_()`` does."""
    return translations(language(request)).gettext(message) % values


@functools.lru_cache(maxsize=4096)
def number(value, lang: str, pattern: str | None = None) -> str:
    """Cached, as dates are: a page prints the same few levels and values many times."""
    return format_decimal(value, format=pattern, locale=lang)


# --- Messages raised in English below the web ------------------------------------------------

# What intake and the project service tell a student, word for word as they raise it (a test
# holds these to the code). A message is matched whole and its parts are put back into the
# translation; one that matches none is shown as it came.
RAISED = (
    N_("give your work a title"),
    N_("the work is empty: there is nothing to submit"),
    N_("%(name)s is too large: Beacon takes at most %(limit)s characters"),
    N_("%(name)s is too large: %(size)s characters, the limit is %(limit)s"),
    N_("%(name)s looks like a binary file, not text"),
    N_("%(name)s is not UTF-8 text (binary, or another encoding)"),
    N_("%(name)s is empty: there is no work to read"),
    N_("%(name)s is not a Word document (.docx)"),
    N_("%(name)s unpacks to far more than a document should (refused as a zip bomb)"),
    N_("%(name)s is not a readable Word document (.docx)"),
    N_("%(name)s is not a PDF"),
    N_("%(name)s is password-protected: save an unprotected copy"),
    N_("%(name)s has %(pages)s pages; Beacon reads at most %(limit)s"),
    N_("%(name)s is not a readable PDF"),
    N_("a file name must be at most %(limit)s characters, without control characters"),
    N_("%(name)s: Beacon reads .txt, .md, .docx and .pdf files"),
    N_("%(name)s says it is %(declared)s, which does not match a %(suffix)s file"),
    N_("%(name)s is larger than %(limit)s MB"),
    N_("%(name)s takes too long to read: save it as .docx or .txt and hand it in again"),
    N_("choose a project from 1 to %(count)s"),
    N_("you are no longer in a class with the teacher who approved this project"),
)
# Where a student's work or project request stands (feedback/router.py, projects/router.py:
# STATUS_FOR_STUDENT; a test holds these to them), translated in the page.
STATUS_WORDS = (N_("with your teacher"), N_("feedback ready"), N_("returned by your teacher"), N_("ideas ready"))
# Words that stand for a name in those messages.
PARTS = {"your text": N_("your text")}
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+|\d+")


@functools.cache
def _raised_patterns() -> list[tuple[re.Pattern, str]]:
    patterns = []
    for message in RAISED:
        pieces = re.split(r"%\((\w+)\)s", message)  # literal, name, literal, name, ...
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(pieces))
        patterns.append((re.compile(regex, re.DOTALL), message))
    return patterns


def raised(text: str, request: Request) -> str:
    """A message raised in English by a lower layer, in the request's language."""
    lang = language(request)
    if lang == SOURCE:
        return text
    for pattern, message in _raised_patterns():
        if found := pattern.fullmatch(text):
            return _(message, request, **{k: _part(v, request, lang) for k, v in found.groupdict().items()})
    return text


def _part(value: str, request: Request, lang: str) -> str:
    if value in PARTS:
        return _(PARTS[value], request)
    if _NUMBER.fullmatch(value):
        return number(int(value.replace(",", "")), lang)
    return value


# --- Templates -----------------------------------------------------------------------------

def _lang(context) -> str:
    return context.get("lang") or SOURCE


@pass_context
def _gettext(context, message: str) -> str:
    return translations(_lang(context)).gettext(message)


@pass_context
def _ngettext(context, singular: str, plural: str, n: int) -> str:
    return translations(_lang(context)).ngettext(singular, plural, n)


@pass_context
def _pgettext(context, where: str, message: str) -> str:
    return translations(_lang(context)).pgettext(where, message)


@pass_context
def _npgettext(context, where: str, singular: str, plural: str, n: int) -> str:
    return translations(_lang(context)).npgettext(where, singular, plural, n)


@functools.lru_cache(maxsize=4096)
def date_text(value, skeleton: str, lang: str) -> str:
    # Cached: a progress page prints the same few dates hundreds of times (chart points, tables),
    # and each Babel call costs ~50 µs (its p95 went from 84 to 212 ms without this).
    if skeleton == "MMMM":  # CLDR has no such skeleton, and Babel's nearest match ("MMM") would shorten it
        return format_date(value, "MMMM", locale=lang)
    return format_skeleton(skeleton, value, locale=lang)


@pass_context
def date_filter(context, value, skeleton: str = "MMMd") -> str:
    """``{{ when|date }}``: "Oct 4" / "4 oct"; a CLDR skeleton for other shapes ("yMMMd"), and
    "MMMM" for the month's whole name ("September" / "septiembre")."""
    return date_text(value, skeleton, _lang(context))


@pass_context
def datetime_filter(context, value, skeleton: str = "MMMd") -> str:
    """``{{ when|datetime }}``: the date and the time of day, as the locale joins them."""
    lang = _lang(context)
    joined = Locale.parse(lang).datetime_formats["short"]
    return joined.format(format_time(value, "short", locale=lang), format_skeleton(skeleton, value, locale=lang))


@pass_context
def number_filter(context, value, pattern: str | None = None) -> str:
    """``{{ n|number }}``: "1,234" / "1234"; a CLDR pattern for a fixed shape ("#,##0.0")."""
    return number(value, _lang(context), pattern)


_MARKED = re.compile(r"\b(?:_|ngettext|pgettext|npgettext)\(|\{%-?\s*trans\b")


@functools.cache
def is_translated(env: Environment, name: str) -> bool:
    """Whether the template ``name`` marks its text for translation. One that does not is English
    whatever the person reads, and is served as English, ``lang`` and all: a page half in one
    language and declared in another misleads a screen reader."""
    source, _filename, _uptodate = env.loader.get_source(env, name)
    return bool(_MARKED.search(source))


def install(env: Environment) -> None:
    """``_``, ``ngettext`` and the filters, each reading the page's ``lang`` from the template's
    context: one environment serves every language at once. Each catalogue is read now, so a
    broken one stops the server at start rather than on the first page in that language."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True  # {% trans %} blocks as one line (babel.cfg: trimmed)
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True, pgettext=_pgettext, npgettext=_npgettext)
    env.filters.update(date=date_filter, datetime=datetime_filter, number=number_filter)
    for lang in LANGUAGES:
        translations(lang)
