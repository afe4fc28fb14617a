from __future__ import annotations

from beacon.feedback.redact import Person, redact

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
