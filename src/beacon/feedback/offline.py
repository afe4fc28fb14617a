"""Beacon's built-in ``offline`` model: deterministic, no network, honest about what it is.

It reads the work the way a rubric asks: for each criterion it looks for sentences that show the
criterion's look-fors, and weighs how developed, specific, reasoned and controlled the writing is.
Levels come from those signals (so weak and strong work on one rubric get different levels);
feedback comes from the rubric itself: the student's level descriptor for strengths, the next
level's descriptor and a revision move for next steps, and the teacher's own approved comments
where the feedback bank has one. Confidence stays modest: it is a first reader, not a rater."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from beacon.feedback.schemas import ProposedAssessment, ProposedCriterion, ProposedFeedback
from beacon.llm.language_scorer import misspelt, reads_as_english, scorer, trait_of
from beacon.llm.lexicon import RUBRIC_GENERIC, stem, terms, words
from beacon.rubrics.schemas import CriterionDefinition, RubricDefinition

MODEL_NAME = "offline"

# A sentence ends at . ! ? or a line end, but not at a decimal point ("1.5 m") or inside "e.g.".
_SENTENCE = re.compile(r"(?:[^.!?\n]|\.(?=\d)|(?<=\be)\.(?=g\.)|(?<=\be\.g)\.|(?<=\bMr)\.|(?<=\bMs)\.|(?<=\bMrs)\.|"
                       r"(?<=\bDr)\.|(?<=\bSt)\.|(?<=\bvs)\.)+(?:[.!?]+[\"”')]?|$)", re.MULTILINE)
# Lines that label rather than say: headings, metadata, table rules, and the problem a task set
# (the student's work is what follows it).
_LABEL = re.compile(r"\s*(?:#{1,6}\s|\|?\s*[-:|]{3,}|(?:name|date|title|period|class|teacher|grade|subject|course|"
                    r"author|by|problem|task|prompt)\s*:)", re.IGNORECASE)

# What a sentence must do to show a criterion, read from the criterion's id and title: the
# first row whose cue is in the name applies. A sentence that does it is preferred as evidence.
_ASKS = [
    (("claim", "thesis", "position", "argument"),
     re.compile(r"\b(?:i think|i believe|in my opinion|should|must|ought|i argue|i agree|i disagree|needs? to|is better|"
                r"we need)\b", re.I)),
    (("counter", "rebuttal", "opposing", "other view"),
     re.compile(r"\b(?:some (?:people|may|might|argue|say)|others?|opponents|critics|however|although|even though|"
                r"on the other hand|while)\b", re.I)),
    (("evidence", "data", "source", "support", "citation", "research", "measure", "detail"),
     re.compile(r"\d|[\"“][^\"”\n]{3,200}[\"”]|\baccording to\b|\b(?:study|survey|report|research|source|article|"
                r"interview|census|document|measured|recorded)\b", re.I)),
    (("hypothesis", "question", "predict", "problem"),
     re.compile(r"\?|\b(?:if\b[^.!?\n]{0,80}\bthen|hypothes|predict|wonder|question|problem|how (?:does|do|can|much|many))", re.I)),
    (("design", "procedure", "method", "plan", "variable", "test", "prototype", "build", "model"),
     re.compile(r"\b(?:variable|trials?|measured|kept the same|controlled|procedure|steps?|each time|we (?:built|tested|used)|"
                r"prototype|materials?|assum|equation|formula|=)", re.I)),
    (("analysis", "reason", "interpret", "explain", "analy", "justif", "strategy", "conclusion"),
     re.compile(r"\b(?:because|therefore|this shows|which means|this means|so the|as a result|suggests?|since|shows that|"
                r"so\b)", re.I)),
    (("reflect", "limitation", "revis", "improv", "next", "growth", "evaluat", "iterat"),
     re.compile(r"\b(?:i learned|next time|i would|would change|if i|i realized|could (?:improve|be better)|limitation|"
                r"error|mistake|i changed|redid|revised|improve|should have|could have)\b", re.I)),
    (("intent", "purpose", "meaning", "audience", "message", "voice", "interpretation"),
     re.compile(r"\b(?:i wanted|want (?:the|my) (?:viewer|audience|reader|listener)s?|represents?|symboli[sz]|meaning|"
                r"purpose|message|audience|so that|to show)\b", re.I)),
    (("craft", "technique", "process", "material", "skill", "performance", "delivery", "execution"),
     re.compile(r"\b(?:i used|using|layer|technique|brush|practi[cs]ed|rehears|tempo|pace|volume|eye contact|material|"
                r"medium|gouache|graphite|paint|clay|blend|texture|tried)\b", re.I)),
    (("team", "collaborat", "contribut", "role", "communicat"),
     re.compile(r"\b(?:our (?:group|team)|my (?:group|team|role|partner)|we (?:decided|agreed|disagreed|divided|split)|"
                r"i (?:helped|suggested|listened))\b", re.I)),
]


_CONNECTIVES = re.compile(
    r"\b(because|therefore|however|although|so that|for example|for instance|as a result|this shows|"
    r"which means|in contrast|on the other hand|since|evidence|according to|this suggests|consequently|"
    r"porque|pero|también|parce que|mais|aussi|donc)\b",
    re.IGNORECASE,
)
_INFORMAL = re.compile(r"\b(gonna|wanna|kinda|sorta|lol|idk|u|ur|cuz|dont|cant|wont|im|thats|alot|stuff)\b")
_LOWER_I = re.compile(r"(?:^|\s)i(?:\s|')")
_SPECIFIC = re.compile(r"\d|\"[^\"]{3,}\"|“[^”]{3,}”")

# Which kind of signal a criterion mostly rewards, read from its id and title.
_ASPECTS = {
    "specificity": ("evidence", "data", "source", "detail", "support", "citation", "measure", "research"),
    "control": ("convention", "grammar", "control", "style", "accuracy", "precision", "craft",
                "technique", "comprehensib"),
    "vocabulary": ("vocabulary", "language", "word choice", "detail", "descriptive"),
    "organization": ("organization", "structure", "sequence", "pacing", "plan", "format"),
    "reasoning": ("reason", "analysis", "analy", "justif", "interpret", "reflect", "explain", "argument",
                  "conclusion", "validat", "corroborat", "context"),
}
THRESHOLDS = (0.34, 0.52, 0.72)  # signal strength at which levels 2, 3 and 4 begin
WHOLE_TEXT = ("control", "vocabulary", "organization")  # aspects every sentence shows...
# ...when the criterion is about language itself (not, say, a dancer's technique).
_LANGUAGE = ("convention", "grammar", "sentence", "syntax", "vocabulary", "word", "phras", "cohesion",
             "spelling", "punctuation", "language", "style")


def _showcase(aspect: str):
    """How well a sentence shows a whole-text quality (to pick the sentences to quote)."""
    def score(sentence: Sentence) -> tuple:
        words_in = sentence.text.split()
        if aspect == "vocabulary":
            return (sum(len(w) > 7 for w in words_in), len(sentence.stems))
        if aspect == "organization":
            return (bool(_CONNECTIVES.search(sentence.text)), -sentence.start)
        # control: a complex, complete sentence, spelt right (never a slip shown as a model)
        return (-misspelt(sentence.text), bool(_CONNECTIVES.search(sentence.text)), min(len(words_in), 30))
    return score

_TEXTS = {
    "en": {
        "working": "{title}: {descriptor}",
        "example": ' For example: "{quote}"',
        "next": "{title}: next, aim for this: {descriptor}",
        "try": " Try this: {move}",
        "question": "Which part of your work will you revise first to try this: {move}?",
        "started": "{title}: this is where your work is strongest so far.",
        "improved": "Since your last version, {title} has moved forward.",
    },
    "es": {
        "working": "{title}: {descriptor}",
        "example": ' Por ejemplo: "{quote}"',
        "next": "{title}: ahora, apunta a esto: {descriptor}",
        "try": " Prueba esto: {move}",
        "question": "¿Qué parte de tu trabajo revisarás primero para probar esto: {move}?",
        "started": "{title}: aquí es donde tu trabajo es más fuerte por ahora.",
        "improved": "Desde tu última versión, has avanzado en {title}.",
    },
}


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    stems: frozenset[str]


@dataclass(frozen=True)
class WorkSignals:
    """Whole-work qualities every criterion draws on, each scaled to 0..1."""

    development: float
    reasoning: float
    specificity: float
    control: float
    organization: float
    vocabulary: float


def sentences(text: str) -> list[Sentence]:
    found = []
    line_start, seen = 0, 0  # where the current line begins; scanned up to here (linear overall)
    for m in _SENTENCE.finditer(text):
        raw = m.group(0)
        stripped = raw.strip()
        if len(stripped) < 12:
            continue
        if len(stripped.split()) <= 8 and stripped[-1] not in '.!?"”':
            continue  # a title or heading, not a sentence to quote as evidence
        begins = m.start() + raw.index(stripped)
        newline = text.rfind("\n", seen, begins)
        line_start, seen = (newline + 1 if newline != -1 else line_start), begins
        if _LABEL.match(text, line_start):
            continue  # a heading, a metadata line or a table rule
        found.append(Sentence(stripped, begins, frozenset(terms(stripped))))
    return found


def _ask_of(criterion: CriterionDefinition):
    name = f"{criterion.id} {criterion.title}".lower().replace("-", " ")
    return next((pattern for cues, pattern in _ASKS if any(re.search(rf"\b{re.escape(cue)}", name) for cue in cues)), None)


def choose_evidence(sents: list[Sentence], criteria: list[CriterionDefinition], own_terms: dict[str, set[str]],
                    used: Counter, *, per_criterion: int = 2, per_sentence: int = 2) -> dict[str, list[Sentence]]:
    """The sentences that show each criterion best: those doing what the criterion asks, then
    sharing its own words (not the rubric's), each sentence for at most ``per_sentence``
    criteria, best pairs first (``used`` counts each sentence's quotes, by its start). A criterion
    nothing shows gets no quote rather than a wrong one."""
    # A word several criteria share says little about which one a sentence shows: weigh each
    # criterion's words by how few of the rubric's criteria use them.
    spread = Counter(t for found in own_terms.values() for t in found)
    weight = {t: math.log(1 + len(criteria) / n) for t, n in spread.items()}
    pairs = []
    for criterion in criteria:
        ask, terms_of = _ask_of(criterion), own_terms[criterion.id]
        for s in sents:
            shared = s.stems & terms_of
            overlap = sum(weight[t] for t in shared)
            does = bool(ask and ask.search(s.text))
            if does or len(shared) >= 2:
                pairs.append((does * 2 + overlap, -s.start, criterion.id, s))
    chosen: dict[str, list[Sentence]] = {c.id: [] for c in criteria}
    for _, _, cid, s in sorted(pairs, key=lambda p: (p[0], p[1]), reverse=True):
        if len(chosen[cid]) < per_criterion and used[s.start] < per_sentence:
            chosen[cid].append(s)
            used[s.start] += 1
    return {cid: sorted(found, key=lambda s: s.start) for cid, found in chosen.items()}


def expected_words(grade: int) -> int:
    return 120 + 35 * max(0, min(grade, 12))


def signals(text: str, grade: int) -> WorkSignals:
    tokens = words(text)
    n = max(1, len(tokens))
    sents = [s for s in _SENTENCE.findall(text) if s.strip()]
    per_100 = 100.0 / n
    informal = len(_INFORMAL.findall(text.lower())) + len(_LOWER_I.findall(text))
    lower_starts = sum(1 for s in sents if s.strip()[:1].islower())
    paragraphs = len([p for p in re.split(r"\n\s*\n", text) if p.strip()])
    content = [stem(w) for w in tokens if len(w) > 3]
    variety = len(set(content)) / max(1, len(content))
    # Longer words and a varied vocabulary go with more developed writing at every grade.
    mean_length = sum(len(w) for w in tokens) / n
    runs_on = sum(1 for sentence in sents if len(sentence.split()) > 40)
    marks = len(re.findall(r"[!?]{2,}|\.{3,}|\b[A-Z]{4,}\b", text))
    return WorkSignals(
        development=min(1.0, n / expected_words(grade)) * (0.6 + 0.4 * min(1.0, variety / 0.6)),
        reasoning=min(1.0, len(_CONNECTIVES.findall(text)) * per_100 / 2.5),
        specificity=min(1.0, len(_SPECIFIC.findall(text)) * per_100 / 3.0),
        control=max(0.0, 1.0 - (informal * 2 + lower_starts + runs_on * 2 + marks) * per_100 / 3.0),
        organization=min(1.0, paragraphs / 4) * 0.6 + 0.4 * min(1.0, len(sents) / 8),
        vocabulary=max(0.0, min(1.0, (mean_length - 3.9) / 1.2)) * 0.7 + 0.3 * min(1.0, variety / 0.7),
    )


def _aspect(criterion: CriterionDefinition) -> str | None:
    name = f"{criterion.id} {criterion.title}".lower()
    for aspect, cues in _ASPECTS.items():
        if any(cue in name for cue in cues):
            return aspect
    return None


def _criterion_terms(criterion: CriterionDefinition, rubric: RubricDefinition) -> tuple[set[str], list[set[str]]]:
    own = set(terms(" ".join([criterion.title, criterion.description, *criterion.look_fors]))) - RUBRIC_GENERIC
    look_fors = [set(terms(lf)) - RUBRIC_GENERIC for lf in criterion.look_fors]
    return own | (set(terms(" ".join(rubric.keywords))) - RUBRIC_GENERIC), look_fors


# Which sentences show a trait best (the showcase orderings above).
_SHOWCASE_OF = {"vocabulary": "vocabulary", "phraseology": "vocabulary", "cohesion": "organization"}


def _scaled(level: int, levels: int, of: int = 4) -> int:
    """A level on a 1..``of`` scale placed on a rubric's 1..``levels`` continuum."""
    return max(1, min(levels, round(1 + (level - 1) * (levels - 1) / (of - 1))))


# The signal strength of levels 1..4 on a four-level rubric. The top band ends where strong work
# ends, not at 1.0: the strongest criterion of the tuning works (evals/retrieval) is at 0.83.
_BANDS = (0.0, *THRESHOLDS, 0.85)


@lru_cache(maxsize=16)
def level_starts(levels: int) -> tuple[float, ...]:
    """The signal strength at which each of levels 2..``levels`` begins: the four bands split
    evenly, so a four-level rubric keeps THRESHOLDS exactly and a 12-level continuum gives each
    band three levels (its top level for the strongest work)."""
    starts = []
    for k in range(1, levels):
        band, part = divmod(4 * k, levels)  # level k+1 begins part/levels of the way into this band
        low, high = _BANDS[band], _BANDS[band + 1]
        starts.append(low + (high - low) * part / levels)
    return tuple(starts)


def _level(strength: float, levels: int = 4) -> int:
    return 1 + sum(strength >= t for t in level_starts(levels))


_PLAIN = frozenset("add use make write try show give check read find say tell put take each every one two three more "
                   "your you the a an and or to of in on for with that this it its".split())


def _move_not_made(criterion: CriterionDefinition, level: int, done: Counter) -> str | None:
    """The criterion's revision move for this level, skipping any the work already makes: what
    it asks for is already there ("add trials" to a report of three trials), or
    most of its words are."""
    moves = criterion.revision_moves
    for k in range(len(moves)):
        move = moves[(level + k) % len(moves)]
        content = [t for t in terms(move) if t not in RUBRIC_GENERIC and t not in _PLAIN]
        made = bool(content) and (done[content[0]] >= 1 or sum(1 for t in set(content) if done[t]) / len(set(content)) >= 0.6)
        if not made:
            return move
    return None


def _joined(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _lower_first(text: str) -> str:
    """'You state...' reads on after a colon as 'you state...'."""
    return text[:1].lower() + text[1:] if text.startswith(("You ", "Your ")) else text


def _lower_first_word(text: str) -> str:
    """'Replace three verbs' reads on after a colon as 'replace three verbs'."""
    return text[:1].lower() + text[1:] if text[:2].isalpha() and not text[:2].isupper() else text


def _clip_quote(sentence: Sentence, limit: int = 240) -> str:
    text = sentence.text
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind(" ")] if " " in cut else cut


class OfflineDrafter:
    name = MODEL_NAME

    def assess(self, work: str, rubric: RubricDefinition, grade: int) -> ProposedAssessment:
        sents = sentences(work)
        sig = signals(work, grade)
        learned = None  # the language scorer's estimates, made once if any criterion needs them
        english = None
        base = (sig.development + sig.reasoning + sig.specificity + sig.control + sig.organization
                + 2 * sig.vocabulary) / 7
        own = {c.id: set(terms(" ".join([c.title, c.description, *c.look_fors]))) - RUBRIC_GENERIC for c in rubric.criteria}
        used: Counter = Counter()
        chosen = choose_evidence(sents, list(rubric.criteria), own, used)

        def showcase(aspect: str) -> list[Sentence]:
            """The two sentences that show a whole-text quality best, none quoted twice already."""
            picked = [s for s in sorted(sents, key=_showcase(aspect), reverse=True) if used[s.start] < 2][:2]
            for s in picked:
                used[s.start] += 1
            return sorted(picked, key=lambda s: s.start)

        results = []
        for criterion in rubric.criteria:
            vocabulary, look_fors = _criterion_terms(criterion, rubric)
            scored = sorted(
                ((len(s.stems & vocabulary), -s.start, s) for s in sents if s.stems & vocabulary),
                key=lambda t: (t[0], t[1]),
                reverse=True,
            )
            shown = [lf for lf in look_fors if lf and any(len(s.stems & lf) >= max(1, math.ceil(len(lf) / 3)) for s in sents)]
            coverage = len(shown) / max(1, len(look_fors))
            aspect = _aspect(criterion)
            focus = getattr(sig, aspect) if aspect else base
            name = f"{criterion.id} {criterion.title}"
            about_language = any(cue in name.lower() for cue in _LANGUAGE)
            trait = trait_of(name) if about_language else None
            if trait and sents and english is None:
                english = reads_as_english(work)  # the scorer learned English: not for a Spanish letter
            if trait and sents and english:
                # A language trait human raters scored: the learned scorer's level, quoted with
                # the sentences that show the quality best.
                learned = learned or scorer().estimate(work)
                estimate = learned[trait]
                level = _scaled(estimate.level, rubric.top_level)
                results.append(ProposedCriterion(
                    criterion_id=criterion.id, level=level,
                    quotes=[_clip_quote(s) for s in showcase(_SHOWCASE_OF.get(trait, "control"))],
                    rationale=f"{criterion.levels[level]} This level comes from the work's language as a whole, "
                              "judged the way trained raters scored 2,571 learners' essays.",
                    confidence=round(min(0.85, 0.45 + estimate.margin), 2),
                ))
                continue
            if aspect in WHOLE_TEXT and about_language:
                # Language qualities show in every sentence, not in sentences about them: judge
                # them from the signal, and quote the sentences that show it best.
                strength = 0.15 * coverage + 0.40 * focus + 0.15 * sig.development + 0.30 * base
                if not chosen[criterion.id]:
                    chosen[criterion.id] = showcase(aspect)
                scored = scored or [(0, -s.start, s) for s in chosen[criterion.id]]
            else:
                strength = 0.35 * coverage + 0.35 * focus + 0.30 * base
                if not chosen[criterion.id] and aspect in WHOLE_TEXT:
                    chosen[criterion.id] = showcase(aspect)  # organisation shows in the whole piece
            if not scored:
                strength = min(strength, THRESHOLDS[0] - 0.01)  # no evidence at all: beginning...
            level = _level(strength, rubric.top_level) if scored else 1  # ...on any scale
            # How sure of the band, not of the exact step: a finer scale is no less certain of it.
            margin = min(abs(strength - t) for t in THRESHOLDS)
            evidence = [_clip_quote(s) for s in chosen[criterion.id]]
            found = [text for text, lf in zip(criterion.look_fors, look_fors, strict=False) if lf in shown]
            said = (f"The work shows {_joined([_lower_first_word(f) for f in found[:2]])}." if found
                    else "Little of what this criterion looks for is plain in the work yet.")
            if not evidence:
                said += " No sentence shows it on its own: worth a look."
            results.append(
                ProposedCriterion(
                    criterion_id=criterion.id,
                    level=level,
                    quotes=evidence,
                    rationale=f"{criterion.levels[level]} {said}",
                    confidence=round(min(0.65, 0.35 + margin), 2),
                )
            )
        return ProposedAssessment(criteria=results)

    def write(
        self,
        rubric: RubricDefinition,
        assessment: ProposedAssessment,
        *,
        grade: int,
        language: str = "en",
        previous_levels: dict[str, int] | None = None,
        bank: dict[str, str] | None = None,
        instructions: str | None = None,
        work: str = "",
    ) -> ProposedFeedback:
        t = _TEXTS.get(language, _TEXTS["en"])
        wanted = (instructions or "").lower()
        short = grade <= 5 or "short" in wanted or "brief" in wanted
        by_id = {c.criterion_id: c for c in assessment.criteria}
        order = [c.id for c in rubric.criteria]
        strongest = sorted(order, key=lambda cid: (-by_id[cid].level, -len(by_id[cid].quotes), order.index(cid)))
        weakest = sorted(order, key=lambda cid: (by_id[cid].level, order.index(cid)))
        done = Counter(terms(work)) if work else Counter()

        strengths, quoted = [], set()
        for cid in strongest[: 1 if short else 2]:
            criterion, proposed = rubric.criterion(cid), by_id[cid]
            if proposed.level >= rubric.mastery_threshold:
                line = t["working"].format(title=criterion.title, descriptor=criterion.levels[proposed.level])
            else:  # a descriptor of a level below mastery reads as a criticism, not a strength
                line = t["started"].format(title=criterion.title)
            quote = next((q for q in proposed.quotes if q not in quoted), None)
            if quote:
                quoted.add(quote)
                line += t["example"].format(quote=quote)
            strengths.append(line)

        # A criterion is a strength or a next step, never both (unless the rubric is too small).
        praised = [cid for cid in strongest[: 1 if short else 2]]
        weakest = [cid for cid in weakest if cid not in praised] or weakest
        next_steps, moves = [], {}
        for cid in weakest[: 1 if short else 2]:
            criterion, proposed = rubric.criterion(cid), by_id[cid]
            target = min(len(rubric.levels), proposed.level + 1)
            line = t["next"].format(title=criterion.title, descriptor=_lower_first(criterion.levels[target]))
            moves[cid] = move = (bank or {}).get(cid) or _move_not_made(criterion, proposed.level, done)
            next_steps.append(line + (t["try"].format(move=move) if move else ""))

        focus = rubric.criterion(weakest[0])
        move = moves.get(focus.id) or _move_not_made(focus, by_id[focus.id].level, done) or focus.revision_moves[0]
        question = t["question"].format(move=_lower_first_word(move).rstrip(".!?"))
        improvements = [
            t["improved"].format(title=rubric.criterion(cid).title)
            for cid in order
            if previous_levels and cid in previous_levels and by_id[cid].level > previous_levels[cid]
        ]
        return ProposedFeedback(
            strengths=strengths, next_steps=next_steps, question=question, improvements=improvements[:3]
        )
