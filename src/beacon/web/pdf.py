"""PDFs of printable pages, by WeasyPrint (a maintained HTML/CSS-to-PDF library): the report's
PDF is its page, the same template and CSS. Made in the process pool (pure-Python CPU work: a
thread would share the GIL with the event loop), and with
no fetching: a page's HTML is Beacon's template around escaped data, and nothing it names is
loaded (no file, no URL: a student's text can never make the server fetch anything)."""

from __future__ import annotations

from beacon import offload


class PdfUnavailable(RuntimeError):
    """WeasyPrint's system libraries (Pango) are missing on this machine."""


def _refuse(url: str, *args, **kwargs):
    raise ValueError(f"a report loads nothing: {url[:80]!r}")


def _write(html: str) -> bytes:
    try:
        from weasyprint import HTML
    except OSError as exc:  # Pango not installed
        raise PdfUnavailable("PDF needs Pango (Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0)") from exc
    return HTML(string=html, url_fetcher=_refuse).write_pdf()


async def pdf_of(html: str) -> bytes:
    return await offload.in_pool(_write, html)
