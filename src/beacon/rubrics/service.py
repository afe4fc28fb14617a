"""Loading the library into versions, indexing it, and matching student work to rubrics.

Services flush but never commit: the command or request around them owns the transaction."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from beacon.config import get_settings
from beacon.errors import InvalidInput, NotFound
from beacon.llm.embeddings import Embedder, model_key
from beacon.llm.lexicon import RUBRIC_GENERIC, surface_forms, term_counts, terms
from beacon.offload import cpu
from beacon.rubrics import evidence, repository
from beacon.rubrics.library import Library, content_hash
from beacon.rubrics.models import Criterion, CriterionLevel, RubricPassage, RubricVersion
from beacon.rubrics.schemas import CompetencyMatch, CriterionMatch, RubricDefinition

RRF_K = 60  # the usual reciprocal-rank-fusion constant: damps the weight of the very top ranks
CANDIDATES = 60  # passages each search hands to fusion
COMPETENCY_PASSAGES = 2  # a competency's rank in each search sums its best two passages
# Ranking: what the work does (its evidence fit, 0..1) leads; closeness of topic breaks near-ties.
TOPIC_WEIGHT = 0.15
# Confidence: a softmax over the ranking scores at this temperature, fitted (log loss) on the
# tuning works (evals/retrieval and 300 ELLIPSE essays), never on the blind suite.
TEMPERATURE = 0.03
UNSURE_BELOW = 0.5  # below this the first match is marked unsure: the teacher picks


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)  # "argument-writing v1"
    unchanged: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)  # back to an earlier identical version
    retired: list[str] = field(default_factory=list)  # file removed from the library
    embedded_passages: int = 0


def passages_for(rubric: RubricDefinition) -> list[tuple[str | None, str, str]]:
    """The searchable texts of a rubric as (criterion id, emphasis, body): an overview, then one
    per criterion. Emphasis is what student work itself would say; body is the rubric's prose."""
    overview_emphasis = f"{rubric.title}. {', '.join(rubric.keywords)}."
    overview = f"{rubric.subject}. {rubric.description} Criteria: {', '.join(c.title for c in rubric.criteria)}."
    texts: list[tuple[str | None, str, str]] = [(None, overview_emphasis, overview)]
    for c in rubric.criteria:
        levels = " ".join(c.levels[n] for n in sorted(c.levels))
        texts.append((c.id, f"{c.title}. {'; '.join(c.look_fors)}.", f"{c.description} {levels}"))
    return texts


def embedded_text(passage: RubricPassage) -> str:
    return passage.emphasis


async def _add_version(session: AsyncSession, rubric: RubricDefinition, digest: str, source: str) -> RubricVersion:
    number = await repository.version_count(session, rubric.id) + 1
    version = RubricVersion(
        competency_id=rubric.id,
        version=number,
        content_hash=digest,
        is_current=False,
        title=rubric.title,
        subject=rubric.subject,
        grade_band=rubric.grade_band,
        description=rubric.description,
        mastery_threshold=rubric.mastery_threshold,
        definition=rubric.model_dump(mode="json"),
        source_file=source,
    )
    criteria = [
        (
            Criterion(key=c.id, title=c.title, description=c.description, position=i),
            [
                CriterionLevel(level=n, label=rubric.level_label(n), descriptor=c.levels[n])
                for n in sorted(c.levels)
            ],
        )
        for i, c in enumerate(rubric.criteria)
    ]
    await repository.add_version(session, version, criteria)
    criterion_ids = {c.key: c.id for c, _ in criteria}
    await repository.add_passages(
        session,
        [
            RubricPassage(
                rubric_version_id=version.id,
                criterion_id=criterion_ids.get(key) if key else None,
                kind="criterion" if key else "competency",
                emphasis=emphasis,
                body=body,
            )
            for key, emphasis, body in passages_for(rubric)
        ],
    )
    return version


async def sync_library(session: AsyncSession, library: Library, embedder: Embedder) -> SyncReport:
    """Make the stored library equal the files: new versions for changed rubrics, nothing for
    unchanged ones (idempotent), retire rubrics whose file is gone. All or nothing."""
    if not library.ok:
        problems = "; ".join(str(p) for p in library.problems[:3])
        raise InvalidInput(f"the rubric library has {len(library.problems)} problem(s): {problems}")
    await repository.lock_library(session)
    report = SyncReport()
    in_library = set()
    for path, rubric in library.rubrics:
        in_library.add(rubric.id)
        digest = content_hash(rubric)
        await repository.upsert_competency(session, rubric.id, rubric.title, rubric.subject)
        current = await repository.current_version(session, rubric.id)
        if current is not None and current.content_hash == digest:
            report.unchanged.append(f"{rubric.id} v{current.version}")
            continue
        earlier = await repository.version_with_hash(session, rubric.id, digest)
        if earlier is not None:
            await repository.make_current(session, rubric.id, earlier.id)
            report.restored.append(f"{rubric.id} v{earlier.version}")
            continue
        version = await _add_version(session, rubric, digest, path.name)
        await repository.make_current(session, rubric.id, version.id)
        report.created.append(f"{rubric.id} v{version.version}")
    for version in await repository.current_versions(session):
        if version.competency_id not in in_library:
            await repository.make_current(session, version.competency_id, None)
            report.retired.append(f"{version.competency_id} v{version.version}")
    report.embedded_passages = await embed_missing(session, embedder)
    return report


async def embed_missing(session: AsyncSession, embedder: Embedder) -> int:
    model = model_key(embedder)
    passages = await repository.passages_without_embedding(session, model)
    if not passages:
        return 0
    vectors = await embedder.embed([embedded_text(p) for p in passages])
    await repository.add_embeddings(session, model, [p.id for p in passages], vectors)
    await repository.ensure_vector_index(session, model, len(vectors[0]))
    return len(passages)


async def reindex(session: AsyncSession, embedder: Embedder) -> int:
    """Rebuild every current passage's vector for this embedding model."""
    await repository.lock_library(session)
    await repository.delete_embeddings(session, model_key(embedder))
    return await embed_missing(session, embedder)


async def get_rubric(session: AsyncSession, competency_id: str) -> RubricVersion:
    version = await repository.current_version(session, competency_id)
    if version is None:
        raise NotFound(f"no rubric with id {competency_id!r} (see `beacon rubrics list`)")
    return version


def _ranks(hits: list[repository.PassageHit], key, top: int = 1) -> dict:
    """Rank of each key by the summed score of its ``top`` best passages (hits arrive best
    first). A competency ranks by several passages, so one lucky criterion does not decide."""
    scores: dict = {}
    taken: Counter = Counter()
    for hit in hits:
        k = key(hit)
        if taken[k] < top:
            scores[k] = scores.get(k, 0.0) + hit.score
            taken[k] += 1
    ordered = sorted(scores, key=lambda k: -scores[k])
    return {k: i + 1 for i, k in enumerate(ordered)}


_terms_by_version: dict[int, frozenset[str]] = {}


def _version_terms(version: RubricVersion) -> frozenset[str]:
    """The stems of a version's searchable text (versions never change, so computed once)."""
    if version.id not in _terms_by_version:
        rubric = RubricDefinition.model_validate(version.definition)
        _terms_by_version[version.id] = frozenset(
            terms(" ".join(f"{emphasis} {body}" for _, emphasis, body in passages_for(rubric)))
        )
    return _terms_by_version[version.id]


def _best_scores(hits: list[repository.PassageHit]) -> dict[int, float]:
    best: dict[int, float] = {}
    for hit in hits:
        best[hit.rubric_version_id] = max(best.get(hit.rubric_version_id, float("-inf")), hit.score)
    return best


def _rrf(*weighted: tuple[dict, float]) -> Counter:
    """Weighted reciprocal rank fusion of (ranks, weight) lists."""
    fused: Counter = Counter()
    for ranks, weight in weighted:
        for item, rank in ranks.items():
            fused[item] += weight / (RRF_K + rank)
    return fused


def _softmax(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    top = max(scores.values())
    exp = {k: math.exp((v - top) / TEMPERATURE) for k, v in scores.items()}
    total = sum(exp.values())
    return {k: v / total for k, v in exp.items()}


def _evidence_dir():
    return get_settings().rubrics_dir / "evidence"


def _work_features(work: str):
    return term_counts(work), surface_forms(work)


async def match(
    session: AsyncSession,
    work: str,
    embedder: Embedder,
    *,
    competency_ids: list[str] | None = None,
    limit: int = 5,
    criteria_per_competency: int = 3,
    vector: list[float] | None = None,
    evidence_dir=None,
) -> list[CompetencyMatch]:
    """Rank the library's competencies for a piece of work by what it does: how much of each
    competency's evidence profile (``rubrics/evidence``) it makes, plus a smaller share of topic
    closeness (HNSW cosine and full-text search over rubric passages, fused by reciprocal rank).
    Each match carries a calibrated confidence; the first is ``unsure`` when it is low."""
    if not work.strip():
        raise InvalidInput("the work is empty: there is nothing to match")
    if competency_ids:
        unknown = set(competency_ids) - await repository.competencies_exist(session, competency_ids)
        if unknown:
            raise NotFound(f"unknown competency id(s): {', '.join(sorted(unknown))}")
    model = model_key(embedder)
    dimensions = await repository.stored_dimensions(session, model)
    if dimensions is None:
        raise NotFound(
            f"no rubric vectors for embedding model {model!r}: run `beacon rubrics reindex`"
        )
    if vector is None:
        [vector] = await embedder.embed([work])
    semantic = await repository.nearest_passages(
        session, model, dimensions, vector, competency_ids or None, CANDIDATES
    )
    lexical = await repository.lexical_passages(session, work, competency_ids or None, CANDIDATES)

    weight = getattr(embedder, "fusion_weight", 1.0)
    by_competency = _rrf(
        (_ranks(semantic, lambda h: h.rubric_version_id, top=COMPETENCY_PASSAGES), weight),
        (_ranks(lexical, lambda h: h.rubric_version_id, top=COMPETENCY_PASSAGES), 1.0),
    )
    by_criterion = _rrf(
        (_ranks([h for h in semantic if h.criterion_key], lambda h: (h.rubric_version_id, h.criterion_key)), weight),
        (_ranks([h for h in lexical if h.criterion_key], lambda h: (h.rubric_version_id, h.criterion_key)), 1.0),
    )
    top_score = (1.0 + weight) / (RRF_K + 1)
    version_of = await repository.current_version_ids(session, competency_ids or None)
    profiles = evidence.profiles_in(evidence_dir or _evidence_dir())
    fits = await cpu(evidence.fits, work, {c: p for c, p in profiles.items() if c in version_of}, size=len(work))
    ranking = {cid: (fits[cid].fit if cid in fits else 0.0) + TOPIC_WEIGHT * by_competency.get(vid, 0.0) / top_score
               for cid, vid in version_of.items()}
    confidence = _softmax(ranking)
    ordered = sorted(ranking, key=lambda c: (-ranking[c], c))[:limit]
    best = [version_of[c] for c in ordered]
    cosine = _best_scores(semantic)
    text_rank = _best_scores(lexical)
    versions = {v.id: v for v in await repository.versions_by_ids(session, best)}
    work_terms, forms = await cpu(_work_features, work, size=len(work))

    results = []
    for version_id in best:
        version = versions[version_id]
        fit = fits.get(version.competency_id)
        criteria = version.definition["criteria"]  # a version is immutable: its definition is the truth
        ranked_criteria = sorted(
            range(len(criteria)),
            key=lambda i: (-by_criterion.get((version_id, criteria[i]["id"]), 0.0), i),
        )[:criteria_per_competency]
        rubric_terms = _version_terms(version)
        shared = sorted(
            (t for t in work_terms if t in rubric_terms and t not in RUBRIC_GENERIC),
            key=lambda t: (-work_terms[t], t),
        )[:6]
        results.append(
            CompetencyMatch(
                id=version.competency_id,
                title=version.title,
                subject=version.subject,
                rubric_version=version.version,
                rubric_version_id=version.id,
                score=round(ranking[version.competency_id], 4),
                confidence=round(confidence[version.competency_id], 3),
                unsure=not results and confidence[version.competency_id] < UNSURE_BELOW,
                evidence_fit=round(fit.fit, 3) if fit else 0.0,
                moves=[says for says, strength in fit.moves if strength >= 0.5] if fit else [],
                topic=round(by_competency.get(version_id, 0.0) / top_score, 4),
                similarity=round(cosine.get(version_id, 0.0), 4),
                text_rank=round(text_rank.get(version_id, 0.0), 4),
                criteria=[
                    CriterionMatch(
                        criterion_id=criteria[i]["id"],
                        title=criteria[i]["title"],
                        score=round(by_criterion.get((version_id, criteria[i]["id"]), 0.0) / top_score, 4),
                    )
                    for i in ranked_criteria
                ],
                why=[forms.get(t, t) for t in shared],
            )
        )
    return results
