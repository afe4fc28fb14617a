from __future__ import annotations

import math

import httpx
import pytest
import respx

from beacon.errors import InvalidInput
from beacon.llm.embeddings import LiteLLMEmbedder, OfflineEmbedder, embedder_for


def _cos(a, b):
    return sum(x * y for x, y in zip(a, b))


async def test_offline_vectors_are_deterministic_unit_and_meaningful():
    model = OfflineEmbedder()
    lab, lab_again, poem = await model.embed([
        "Our hypothesis: more light makes the plants grow taller. We measured height each day.",
        "Our hypothesis: more light makes the plants grow taller. We measured height each day.",
        "The moon sang softly to the sleeping sea of my grandmother's village.",
    ])
    other_lab = model.embed_one("We measured how tall each plant grew under the lamp to test the hypothesis.")
    assert lab == lab_again
    assert len(lab) == 384
    assert math.isclose(math.sqrt(sum(v * v for v in lab)), 1.0, rel_tol=1e-9)
    assert _cos(lab, other_lab) > _cos(lab, poem)
    assert model.embed_one("") != [0.0] * 384  # still a valid unit vector


def test_embedding_model_names_are_checked():
    assert embedder_for("offline").name == "offline-hash-v1-384"
    assert embedder_for("openai/text-embedding-3-small").name == "openai/text-embedding-3-small"
    with pytest.raises(InvalidInput):
        embedder_for("x'; DROP TABLE users; --")


async def test_litellm_embedder_calls_the_provider_over_http(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    embedder = LiteLLMEmbedder("openai/text-embedding-3-small", api_base="https://llm.test/v1")
    with respx.mock(using="httpx", assert_all_called=True) as mock:
        route = mock.post("https://llm.test/v1/embeddings").mock(
            return_value=httpx.Response(200, json={
                "object": "list",
                "model": "text-embedding-3-small",
                "data": [
                    {"object": "embedding", "index": 0, "embedding": [0.6, 0.8, 0.0]},
                    {"object": "embedding", "index": 1, "embedding": [0.0, 0.0, 1.0]},
                ],
                "usage": {"prompt_tokens": 4, "total_tokens": 4},
            })
        )
        vectors = await embedder.embed(["first", "second"])
    assert vectors == [[0.6, 0.8, 0.0], [0.0, 0.0, 1.0]]
    sent = route.calls.last.request.read().decode()
    assert '"first"' in sent and '"second"' in sent
