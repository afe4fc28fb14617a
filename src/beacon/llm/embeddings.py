"""Embedding models: the offline default (feature hashing, no weights, no network) and any
litellm embedding model. Vectors are stored per model name, so switching models never mixes them."""

from __future__ import annotations

import hashlib
import math
import re
from typing import Protocol

from beacon.errors import InvalidInput
from beacon.llm.lexicon import terms
from beacon.llm.provider import litellm_module
from beacon.offload import cpu

OFFLINE = "offline"
_MODEL_NAME = re.compile(r"^[A-Za-z0-9_.:/@+\-]{1,200}$")


class Embedder(Protocol):
    name: str

    async def embed(self, texts: list[str]) -> list[list[float]]: ...


class OfflineEmbedder:
    """Signed feature hashing of content-word stems and their bigrams, sublinear term
    frequency, L2-normalised. Same text, same vector, on any machine, for ever."""

    # Weight of this model's ranking in retrieval's fusion with full-text search. A bag of hashed
    # words is weaker evidence than weighted full text: on the retrieval suite, half weight took
    # hit@1 from 25 to 26 of 28 and hit@3 from 27 to 28 (bench and evals/retrieval).
    fusion_weight = 0.5

    def __init__(self, dimensions: int = 384) -> None:
        self.dimensions = dimensions
        self.name = f"offline-hash-v1-{dimensions}"

    def _slot(self, feature: str) -> tuple[int, float]:
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self.dimensions, (1.0 if value >> 63 else -1.0)

    def embed_one(self, text: str) -> list[float]:
        stems = terms(text)
        counts: dict[str, float] = {}
        for s in stems:
            counts[s] = counts.get(s, 0.0) + 1.0
        for a, b in zip(stems, stems[1:]):
            counts[f"{a} {b}"] = counts.get(f"{a} {b}", 0.0) + 0.5
        vector = [0.0] * self.dimensions
        for feature, count in counts.items():
            index, sign = self._slot(feature)
            vector[index] += sign * (1.0 + math.log(count))
        norm = math.sqrt(sum(v * v for v in vector))
        if norm == 0.0:
            vector[0] = 1.0  # an empty text still gets a valid unit vector
            return vector
        return [v / norm for v in vector]

    async def embed(self, texts: list[str]) -> list[list[float]]:
        # Pure Python: inline for a query or an essay, in the process pool for a long work (a
        # thread would still hold the GIL the event loop needs).
        return await cpu(_embed_offline, self.dimensions, texts, size=sum(len(t) for t in texts))


def _embed_offline(dimensions: int, texts: list[str]) -> list[list[float]]:
    embedder = OfflineEmbedder(dimensions)
    return [embedder.embed_one(t) for t in texts]


class LiteLLMEmbedder:
    """Any litellm embedding model (``openai/text-embedding-3-small``, ``ollama/nomic-embed-text``)."""

    fusion_weight = 1.0

    def __init__(self, model: str, api_base: str | None = None, batch_size: int = 64) -> None:
        self.name = model
        self.api_base = api_base
        self.batch_size = batch_size

    async def embed(self, texts: list[str]) -> list[list[float]]:
        litellm = litellm_module()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            response = await litellm.aembedding(
                model=self.name, input=batch, api_base=self.api_base, num_retries=3, timeout=60
            )
            vectors.extend(item["embedding"] for item in response.data)
        return vectors


def embedder_for(model: str, api_base: str | None = None) -> Embedder:
    if not _MODEL_NAME.match(model):
        raise InvalidInput(f"embedding model name {model!r} has characters Beacon does not accept")
    if model == OFFLINE:
        return OfflineEmbedder()
    return LiteLLMEmbedder(model, api_base)


def model_key(embedder: Embedder) -> str:
    """The name vectors are stored under; checked to be safe to inline as an SQL literal."""
    if not _MODEL_NAME.match(embedder.name):
        raise ValueError(f"unsafe embedding model name {embedder.name!r}")
    return embedder.name
