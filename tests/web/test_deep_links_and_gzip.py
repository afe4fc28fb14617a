"""Two small things a family notices: a link from an email opened while signed out comes back
to that page after signing in (and only ever to a page of Beacon's: no open redirect), and
pages travel gzipped to a browser that accepts it."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from beacon.web.rendering import safe_next
from tests.api_client import PASSWORD
from tests.mastery.progress_helpers import release
from tests.web.test_progress_page import _teacher


def test_only_a_path_of_this_site_is_a_place_to_come_back_to():
    for fine in ("/student/progress", "/guardian/children/1/report?from=2026-09-01&to=2026-12-01", "/a#b"):
        assert safe_next(fine) == fine
    for bad in ("", "/", "//evil.example/x", "/\\evil.example", "https://evil.example/", "javascript:alert(1)",
                "evil.example", "/ok\r\nSet-Cookie: x=1", "/x\\y", "/" + "a" * 600, None, 7):
        assert safe_next(bad) is None, bad


async def test_a_deep_link_signed_out_comes_back_after_sign_in(api, people):
    _, client = api
    client.cookies.clear()
    wanted = "/student/report?from=2026-09-01&to=2026-10-01"
    sent = await client.get(wanted)
    assert sent.status_code == 303
    location = sent.headers["location"]
    assert urlsplit(location).path == "/login" and parse_qs(urlsplit(location).query)["next"] == [wanted]
    form = await client.get(location)
    assert f'name="next" value="{wanted.replace("&", "&amp;")}"' in form.text
    # A wrong password keeps it in the form; the right one goes there.
    wrong = await client.post("/login", data={"email": people["alice"], "password": "nope", "next": wanted})
    assert wrong.status_code == 401 and 'name="next"' in wrong.text
    done = await client.post("/login", data={"email": people["alice"], "password": PASSWORD, "next": wanted})
    assert done.status_code == 303 and done.headers["location"] == wanted
    assert (await client.get(done.headers["location"])).status_code == 200


async def test_sign_in_never_sends_anyone_to_another_site(api, people):
    _, client = api
    for bad in ("//evil.example/phish", "https://evil.example/", "/\\evil.example", "javascript:alert(1)",
                "/" + "a" * 1500):
        client.cookies.clear()
        form = await client.get("/login", params={"next": bad})
        assert form.status_code == 200 and "evil.example" not in form.text and 'name="next"' not in form.text
        done = await client.post("/login", data={"email": people["alice"], "password": PASSWORD, "next": bad})
        assert done.status_code == 303 and done.headers["location"] == "/", bad
    client.cookies.clear()
    assert (await client.post("/login", data={"email": people["alice"], "password": PASSWORD,
                                              "next": "/x" * 1500})).status_code == 422  # beyond any form's limit
    # A form posted while signed out is not replayed after sign-in: plain /login.
    assert (await client.post("/student/goals", data={})).headers.get("location") in ("/login", None)


async def test_a_large_page_is_gzipped_for_a_browser_that_accepts_it(api, people, runtime):
    _, client = api
    await release(runtime, await _teacher(runtime, people), people["alice_id"], title="Wind turbines")
    client.cookies.clear()
    await client.post("/login", data={"email": people["alice"], "password": PASSWORD})
    zipped = await client.get("/student/progress", headers={"accept-encoding": "gzip"})
    assert zipped.status_code == 200 and zipped.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in zipped.headers["vary"].lower()
    assert "My progress" in zipped.text  # decoded as it was
    assert int(zipped.headers["content-length"]) < len(zipped.content)
    # The security headers survive compression.
    assert zipped.headers["cache-control"] == "no-store" and "content-security-policy" in zipped.headers
    plain = await client.get("/student/progress", headers={"accept-encoding": "identity"})
    # The same page, but for the CSRF token's mask: fresh in every answer (BREACH), so the
    # secret is never the same bytes in two compressed pages.
    def unmasked(page: str) -> str:
        return re.sub(r'name="csrf" value="[^"]+"', 'name="csrf" value=""', page)

    assert "content-encoding" not in plain.headers and unmasked(plain.text) == unmasked(zipped.text)
    assert re.findall(r'name="csrf" value="([^"]+)"', plain.text)[0] != re.findall(
        r'name="csrf" value="([^"]+)"', zipped.text)[0]
    # A PDF is sent as it is (its streams are compressed inside), whole.
    pdf = await client.get("/student/report.pdf", headers={"accept-encoding": "gzip"})
    assert pdf.status_code == 200 and "content-encoding" not in pdf.headers and pdf.content[:5] == b"%PDF-"
    # A small answer is not worth compressing.
    assert "content-encoding" not in (await client.get("/healthz", headers={"accept-encoding": "gzip"})).headers


def test_a_students_words_language_is_guessed_only_when_clear():
    from beacon.text import guess_language

    assert guess_language("I claim we need trees because the shade cools our yard.") == "en"
    assert guess_language("Creo que la escuela necesita más árboles porque dan sombra.") == "es"
    for unsure in ("", None, "Hola", "the la", "x" * 10_000):
        assert guess_language(unsure) is None


async def test_a_spanish_family_hears_an_english_work_in_english(api, people, runtime):
    """The page is Spanish (the family's); the work and its quotes say lang="en"."""
    from tests.web.test_progress_page import _family

    _, client = api
    released = await release(runtime, await _teacher(runtime, people), people["alice_id"], title="Wind turbines")
    _, email = await _family(client, people, "es")
    client.cookies.clear()
    await client.post("/login", data={"email": email, "password": PASSWORD})
    page = await client.get(f"/guardian/children/{people['alice_id']}/releases/{released}")
    assert page.status_code == 200 and '<html lang="es"' in page.text
    work = page.text.partition(">El trabajo</h2>")[2].partition("</section>")[0]
    assert work.startswith('<div class="work" lang="en">') and "</mark>" in work
    report = await client.get(f"/guardian/children/{people['alice_id']}/report")
    assert '<html lang="es">' in report.text and '<blockquote lang="en">' in report.text
    client.cookies.clear()
    await client.post("/login", data={"email": people["alice"], "password": PASSWORD})
    mine = await client.get(f"/student/releases/{released}")
    assert mine.text.partition(">Your work</h2>")[2].startswith('<div class="work" lang="en">')
