"""The learned language scorer: shipped weights, plain-Python inference, invariant to layout,
and used by the offline model for the language criteria human raters scored."""

from __future__ import annotations

import yaml

from beacon.llm.language_scorer import MODEL_FILE, TRAITS, reads_as_english, scorer, trait_of
from beacon.feedback.offline import OfflineDrafter
from beacon.rubrics.schemas import RubricDefinition
from tests.conftest import PROJECT

CONTROLLED = """Many schools are debating whether students should have a four-day week. In my view, the
change would help students, because a longer weekend gives time to rest, work and study.
Furthermore, teachers could use the extra day to plan lessons carefully. However, some parents worry
about childcare. Although this concern is reasonable, communities could offer programs on that day.
Therefore, a four-day week deserves a careful trial before anyone rejects it."""

STRUGGLING = """i think school four day is good becuase we can sleep and do things. i dont like school
alot it is boring and teachers give to much homework. my freinds say the same thing. so four day
week is good i think becuase we rest more and play more and it is good for every body"""


def test_the_weights_ship_with_the_package_and_say_where_they_come_from():
    assert MODEL_FILE.is_file() and MODEL_FILE.stat().st_size < 3_000_000
    assert (MODEL_FILE.parent / "NOTICE").read_text().count("CC BY-NC-SA 4.0") >= 1
    assert scorer().meta["data"].startswith("ELLIPSE")


def test_stronger_language_scores_higher_on_every_trait():
    strong, weak = scorer().scores(CONTROLLED), scorer().scores(STRUGGLING)
    assert set(strong) == set(TRAITS)
    assert all(strong[t] > weak[t] for t in TRAITS), (strong, weak)
    assert scorer().estimate(CONTROLLED)["conventions"].level > scorer().estimate(STRUGGLING)["conventions"].level


def test_paragraph_breaks_and_spacing_do_not_change_a_level():
    flattened = " ".join(CONTROLLED.split())
    spaced = CONTROLLED.replace("\n", "\n\n   ").replace(". ", ".  ")
    assert scorer().estimate(flattened) == scorer().estimate(CONTROLLED) == scorer().estimate(spaced)


def test_criteria_map_to_the_traits_raters_scored():
    assert trait_of("conventions Conventions of Standard English") == "conventions"
    assert trait_of("word-choice Word choice") == "vocabulary"
    assert trait_of("sentence-fluency Sentence fluency") == "syntax"
    assert trait_of("claim Claim") is None
    assert not reads_as_english("Hola, me llamo Ana y tengo quince años. Me gusta jugar al fútbol con mis amigos.")


def test_the_offline_model_takes_language_levels_from_the_scorer():
    rubric = RubricDefinition.model_validate(
        yaml.safe_load((PROJECT / "evals" / "ellipse" / "rubric.yaml").read_text(encoding="utf-8")))
    strong = {c.criterion_id: c for c in OfflineDrafter().assess(CONTROLLED, rubric, 10).criteria}
    weak = {c.criterion_id: c for c in OfflineDrafter().assess(STRUGGLING, rubric, 10).criteria}
    expected = scorer().estimate(CONTROLLED)
    for criterion in rubric.criteria:
        trait = trait_of(f"{criterion.id} {criterion.title}")
        assert strong[criterion.id].level == expected[trait].level
        assert strong[criterion.id].quotes and all(q in CONTROLLED for q in strong[criterion.id].quotes)
        assert "look-fors" not in strong[criterion.id].rationale  # sentences, not counters
    assert sum(c.level for c in strong.values()) > sum(c.level for c in weak.values())
