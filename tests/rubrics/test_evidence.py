"""Evidence profiles: what each competency's evidence looks like, read from the library, and a
ranking that follows what the work does rather than what it is about."""

from __future__ import annotations

from beacon.rubrics.evidence import fits, read_profiles
from beacon.rubrics.library import read_library
from tests.conftest import PROJECT
from tests.linear import assert_linear

LIBRARY = PROJECT / "rubrics"
PROFILES, PROBLEMS = read_profiles(LIBRARY / "evidence")

TEAM_REFLECTION = """Our group had four people and my role was note taker. We divided the work so each
person researched one planet. We disagreed about the poster layout, so we voted and I suggested a
compromise. Next time our group should check in more often, and I could have helped Sam sooner."""

ESSAY_ABOUT_TEAMWORK = """I think students should work in groups because they learn more. One reason is
that people share ideas. Another reason is that working with others is a skill you need for a job.
Some people say groups are unfair because one person does all the work. However, teachers can give
each student a grade. In conclusion, I believe group projects should be used in every class."""


def test_every_competency_in_the_library_has_a_valid_profile():
    assert PROBLEMS == []
    assert set(PROFILES) == {rubric.id for _, rubric in read_library(LIBRARY).rubrics}
    assert all(len(p.moves) >= 3 for p in PROFILES.values())


def test_a_work_is_ranked_by_what_it_does_not_by_its_topic():
    reflection, essay = fits(TEAM_REFLECTION, PROFILES), fits(ESSAY_ABOUT_TEAMWORK, PROFILES)
    assert max(reflection, key=lambda c: reflection[c].fit) == "collaboration"
    # About group work, but it argues: a position, reasons, the other side, a conclusion.
    assert max(essay, key=lambda c: essay[c].fit) == "argument-writing"
    made = {says for says, strength in essay["argument-writing"].moves if strength >= 0.5}
    assert {"gives reasons for it", "answers the other side"} <= made


def test_work_in_the_language_being_learned_is_recognised():
    letter = ("Hola Marta, me llamo Ana y tengo quince años. Vivo en una casa con mi familia. Me gusta "
              "mucho jugar al fútbol con mis amigos, pero no me gusta la tarea. ¿Y tú? ¿Qué te gusta hacer?")
    found = fits(letter, PROFILES)
    assert max(found, key=lambda c: found[c].fit) == "world-language-communication"


def test_profiles_that_name_an_unknown_detector_or_the_wrong_competency_are_refused(tmp_path):
    (tmp_path / "a.yaml").write_text("competency: a\nkinds: [essay]\nmoves:\n  - says: does it\n    cues: ['#nope']\n")
    (tmp_path / "b.yaml").write_text("competency: c\nkinds: [essay]\nmoves:\n  - says: does it\n    cues: [sure]\n")
    (tmp_path / "d.yaml").write_text("competency: d\nkinds: [essay]\nmoves: []\n")
    profiles, problems = read_profiles(tmp_path)
    assert profiles == {} and len(problems) == 3
    assert any("#nope" in p for p in problems) and any("not 'b'" in p for p in problems)


def test_matching_is_linear_on_hostile_works():
    """No pattern rescans: ten times the input costs about ten times as much."""
    assert_linear(lambda text: fits(text, PROFILES),
                  ("a" * 200_000, '"' * 200_000, '"ab,"' * 40_000, "1=1 " * 50_000, "12 cm " * 33_000), floor_s=0.2)
