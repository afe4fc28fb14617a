from __future__ import annotations

from beacon.feedback.redact import Person, redact
from tests.linear import assert_linear

ROSTER = [Person("Maya Okafor", "student"), Person("Priya Natarajan", "classmate"), Person("Rosa Alvarez", "teacher")]


def test_names_and_emails_are_replaced_everywhere_and_restored_for_display():
    text = ("I worked with Priya Natarajan (priya.n@student.example.org) and PRIYA said "
            "Ms. Alvarez liked it. Email me at maya@example.com - Maya Okafor")
    r = redact(text, ROSTER)
    for secret in ("Priya", "PRIYA", "Natarajan", "priya.n@", "Alvarez", "maya@example.com", "Maya", "Okafor"):
        assert secret not in r.text
    assert "[CLASSMATE_1]" in r.text and "[TEACHER_1]" in r.text and "[STUDENT]" in r.text
    assert r.restore("Nice work, [STUDENT]; ask [CLASSMATE_1].") == "Nice work, Maya; ask Priya."


def test_offsets_in_redacted_text_map_back_to_the_students_words():
    text = "First, Priya Natarajan measured it. Then I wrote it down."
    r = redact(text, ROSTER)
    quote = "[CLASSMATE_1] measured it."
    start = r.text.index(quote)
    a, b = r.to_original(start, start + len(quote))
    assert text[a:b] == "Priya Natarajan measured it."
    later = r.text.index("Then I wrote")
    a, b = r.to_original(later, later + len("Then I wrote"))
    assert text[a:b] == "Then I wrote"


def test_names_inside_other_words_are_left_alone():
    r = redact("Mayan temples and Priyanka's notes", ROSTER)
    assert r.text == "Mayan temples and Priyanka's notes"


def test_handles_phones_and_street_addresses_are_replaced_and_numbers_in_work_are_not():
    text = ("Follow @maya_skates or email maya.o@school.org, call +1 415-555-0134 or (415) 555 0199; "
            "I live at 42 Elm Street. In 2019-2020 our 1,300 students measured 3.14 and scored 12-15.")
    r = redact(text, ROSTER)
    for secret in ("@maya_skates", "maya.o@", "415-555-0134", "555 0199", "42 Elm Street"):
        assert secret not in r.text
    for kind in ("[HANDLE_1]", "[EMAIL_1]", "[PHONE_1]", "[PHONE_2]", "[ADDRESS_1]"):
        assert kind in r.text
    for data in ("2019-2020", "1,300", "3.14", "12-15"):  # the work's own numbers stay
        assert data in r.text
    assert r.restore("[HANDLE_1] at [ADDRESS_1]") == "@maya_skates at 42 Elm Street"


def test_redaction_is_linear_on_hostile_tokens():
    """A 200,000-letter word used to take minutes (the email pattern rescanned it from every
    position): the work done per character is bounded."""
    assert_linear(lambda text: redact(text, ROSTER),
                  ("a" * 200_000, "a@" * 100_000, "1 " * 100_000, "12 Abc " * 28_000, "@" * 200_000))
