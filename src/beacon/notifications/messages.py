"""What a notification says, in the recipient's language: the same Spanish catalogue as the
pages (src/beacon/locale, loaded by beacon.catalogues).

Every message says only that something is ready, whose it is (the student's own title, or the
child's first name for a family) and where to read it: never feedback, levels or a draft."""

from __future__ import annotations

from beacon.catalogues import SOURCE, translations
from beacon.catalogues import supported as catalogue_language


def supported(tag: str | None) -> str:
    """The language an email is written in for a language tag ("es-MX" → "es"); else English."""
    return catalogue_language(tag) or SOURCE


def _(message: str, lang: str, /, **values) -> str:
    """``message`` in ``lang`` with ``values`` put in; the message first, so pybabel extracts it."""
    return translations(lang).gettext(message) % values



def subject(kind: str, lang: str, *, title: str | None = None, child: str | None = None) -> str:
    """The one line a notification is: for the student (``child`` None) or for their family."""
    if kind == "feedback_released":
        if child:
            return _("%(child)s's teacher shared feedback", lang, child=child)
        return _("Your teacher shared feedback on “%(title)s”", lang, title=title or "")
    if kind == "ideas_approved":
        if child:
            return _("%(child)s's teacher approved project ideas", lang, child=child)
        return _("Your teacher approved project ideas for you", lang)
    if child:
        return _("%(child)s's progress report is ready", lang, child=child)
    return _("Your progress report is ready", lang)


def body(lang: str, *, name: str, subject_line: str, link: str, preferences: str, unsubscribe: str) -> str:
    """The email's plain text: the subject, a link to sign in and read it, and how to stop."""
    return "\n\n".join((
        _("Hello %(name)s,", lang, name=name),
        _("%(subject)s. Sign in to Beacon to read it:", lang, subject=subject_line) + "\n" + link,
        _("Choose what Beacon emails you about: %(link)s", lang, link=preferences),
        _("Stop all emails from Beacon: %(link)s", lang, link=unsubscribe),
    )) + "\n"


def invitation(lang: str, *, teacher: str, child: str, school: str) -> str:
    """The one line a family's invitation says (the child's first name only)."""
    return _("%(teacher)s invites you to follow %(child)s's progress at %(school)s", lang,
             teacher=teacher, child=child, school=school)


def invitation_body(lang: str, *, line: str, link: str) -> str:
    """The invitation email's plain text: its line and the link to accept, nothing else."""
    return "\n\n".join((line + ".", _("Accept the invitation: %(link)s", lang, link=link))) + "\n"
