"""The interface's message catalogues (``src/beacon/locale/<lang>/LC_MESSAGES/messages.po``),
for the pages (web/i18n.py) and for what is sent (notifications/messages.py) alike.

Why not .mo files: a compiled .mo kept in git drifts from the .po it came from, and a compile
step is one more thing CI and a fresh checkout could miss. Compiling in memory takes a few
milliseconds, once per process; the .po is the only truth, and fuzzy entries are left out
(English shows)."""

from __future__ import annotations

import functools
import gettext
import io
import re
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
SOURCE = "en"
LANGUAGES = ("en", "es")  # the source, and each catalogue


def supported(tag: str | None) -> str | None:
    """The catalogue's language for a language tag ("es-MX" → "es"), or None if there is none."""
    primary = re.split(r"[-_]", (tag or "").strip().lower(), maxsplit=1)[0]
    return primary if primary in LANGUAGES else None


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue for ``lang`` (English, the source, has none)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    if lang not in LANGUAGES or lang == SOURCE:
        return gettext.NullTranslations()
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled)
