"""Model calls with structured output: litellm's Router for retries, timeouts and retry-after,
then Beacon's own fallback chain, which also covers a model that keeps answering invalid JSON.

Every call returns what it cost (tokens, dollars, milliseconds); a call that cannot succeed on
any configured model raises ``ModelUnavailable``, which jobs treat as "retry later"."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from beacon.errors import BeaconError
from beacon.llm.provider import litellm_module

T = TypeVar("T", bound=BaseModel)


class ModelUnavailable(BeaconError):
    """No configured model produced a valid answer now; the work stays queued for a retry."""

    exit_code = 6

    def __init__(self, message: str, retry_after_s: float | None = None, *, reason: str = "unavailable",
                 usage: Usage | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.reason = reason  # one of REASONS: what a teacher or admin is told
        self.usage = usage or Usage()  # what the failed calls cost: a fallback draft records it


# Why no model answered, in words for whoever waits on the draft.
REASONS = {
    "timeout": "the model server did not answer in time",
    "unreachable": "the model server could not be reached",
    "refused": "the model provider refused the key or the request",
    "rate_limited": "the model provider is rate limiting",
    "invalid_output": "the model's replies did not match the required format",
    "deadline": "the draft ran past its deadline",
    "unavailable": "the model failed",
}


def fault_reason(exc: BaseException) -> str:
    """Classify a provider error by litellm's exception names (no import of litellm here)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"Timeout", "TimeoutError", "APITimeoutError", "ReadTimeout", "ConnectTimeout"}:
        return "timeout"
    if names & {"RateLimitError"}:
        return "rate_limited"
    if names & {"AuthenticationError", "PermissionDeniedError", "BadRequestError", "NotFoundError"}:
        return "refused"
    if names & {"APIConnectionError", "ConnectError", "ConnectionError", "ServiceUnavailableError"}:
        return "unreachable"
    return "unavailable"


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0
    calls: int = 0
    repairs: int = 0  # answers that needed a JSON repair round

    @classmethod
    def local_call(cls, started: float) -> Usage:
        """A call that ran here (the offline model): no tokens or cost, but its time, rounded up
        (a draft that took 0.4 ms did not take no time)."""
        import math

        return cls(calls=1, latency_ms=math.ceil((time.perf_counter() - started) * 1000))

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost_usd += other.cost_usd
        self.latency_ms += other.latency_ms
        self.calls += other.calls
        self.repairs += other.repairs


@dataclass
class Answer(Generic[T]):
    value: T
    model: str
    usage: Usage
    notes: list[str] = field(default_factory=list)


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)


def parse_json(text: str, schema: type[T]) -> T:
    """Validate a model's reply; tolerate a Markdown code fence or prose around one object."""
    cleaned = _FENCE.sub("", (text or "").strip())
    try:
        return schema.model_validate_json(cleaned)
    except ValidationError:
        start, end = cleaned.find("{"), cleaned.rfind("}")
        if start == -1 or end <= start:
            raise
        return schema.model_validate_json(cleaned[start : end + 1])


class Truncated(Exception):
    """The reply stopped at its token budget (``finish_reason: length``): not a JSON mistake to
    repair with the same budget, but an answer to ask for again, shorter and with more room."""


JSON_MODES = ("json_schema", "json_object_schema", "json_object")


def response_format(mode: str, schema: dict | None) -> dict:
    """The answer's schema in the form the server takes: ``json_schema`` (strict) for OpenAI,
    Gemini, Ollama, vLLM and llama.cpp's server; ``json_object`` plus ``schema`` for
    llama-cpp-python's server; plain ``json_object`` for servers that take no schema."""
    if schema is None or mode == "json_object":
        return {"type": "json_object"}
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True}}


def _error_summary(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors()[:8])
    return str(exc)[:500]


def served_locally(model: str, api_base: str | None) -> bool:
    """Served on this machine (Ollama's default, or llama.cpp, vLLM... on loopback)."""
    from urllib.parse import urlsplit

    if api_base:
        host = urlsplit(api_base).hostname or ""
        return host in ("localhost", "::1") or host.startswith("127.")
    return model.startswith(("ollama/", "ollama_chat/"))


def concurrency(settings) -> int:
    """How many drafting jobs a worker runs at once: ``worker_concurrency``, else 1 for a model
    served on this machine (one generation slot: more would only queue there), else 4."""
    if settings.worker_concurrency is not None:
        return settings.worker_concurrency
    models = [m for m in (settings.model, *settings.fallback_models) if m != "offline"]
    return 1 if any(served_locally(m, settings.model_api_base) for m in models) else 4


class ModelClient:
    def __init__(
        self,
        models: list[str],
        *,
        api_base: str | None = None,
        timeout_s: float = 60.0,
        retries: int = 2,
        max_tokens: int = 1500,
        json_mode: str = "json_schema",
    ) -> None:
        self.models = [m for m in models if m != "offline"]
        self.api_base = api_base
        self.timeout_s = timeout_s
        self.retries = retries
        self.max_tokens = max_tokens
        self.json_mode = json_mode
        self._router = None

    def local(self, model: str) -> bool:
        return served_locally(model, self.api_base)

    def router(self):
        if self._router is None:
            litellm = litellm_module()
            # Retries happen once, in the Router (which honours Retry-After), not also in SDKs.
            params = {"timeout": self.timeout_s, "max_tokens": self.max_tokens, "max_retries": 0}
            if self.api_base:
                params["api_base"] = self.api_base
            from litellm.types.router import RetryPolicy

            # A local server works one request at a time: a retry after a timeout only queues
            # behind the generation it abandoned. Other faults are still retried.
            local = {m: RetryPolicy(TimeoutErrorRetries=0, DefaultRetries=self.retries)
                     for m in self.models if self.local(m)}
            extra = {"model_group_retry_policy": local} if local else {}
            self._router = litellm.Router(
                model_list=[{"model_name": m, "litellm_params": {"model": m, **params}} for m in self.models],
                num_retries=self.retries, **extra,
                timeout=self.timeout_s,
                retry_after=0,  # wait what the provider's Retry-After says, no floor of our own
                # One deployment per model: cooling it down would only turn a retry into a failure.
                disable_cooldowns=True,
            )
        return self._router

    async def _call(self, model: str, messages: list[dict], schema: dict | None = None,
                    max_tokens: int | None = None, temperature: float = 0) -> tuple[str, Usage]:
        started = time.perf_counter()
        response = await self.router().acompletion(
            model=model, messages=messages, response_format=response_format(self.json_mode, schema),
            temperature=temperature, max_tokens=min(max_tokens or self.max_tokens, self.max_tokens),
        )
        usage = Usage(calls=1, latency_ms=int((time.perf_counter() - started) * 1000))
        if response.usage:
            usage.prompt_tokens = response.usage.prompt_tokens or 0
            usage.completion_tokens = response.usage.completion_tokens or 0
        try:
            usage.cost_usd = float(litellm_module().completion_cost(completion_response=response) or 0.0)
        except Exception:  # unknown price for a local or new model: cost is recorded as 0
            usage.cost_usd = 0.0
        choice = response.choices[0]
        if getattr(choice, "finish_reason", None) == "length":
            raise Truncated(f"the reply stopped at its budget of {max_tokens or self.max_tokens} tokens")
        return choice.message.content or "", usage

    async def structured(self, messages: list[dict], schema: type[T], *, json_schema: dict | None = None,
                         max_tokens: int | None = None) -> Answer[T]:
        """Ask each configured model in turn for JSON matching ``schema`` (``json_schema``: the
        same as the server should enforce it; ``max_tokens``: the budget it needs); one repair
        round each, a different one for a reply cut off at its budget."""
        total = Usage()
        notes: list[str] = []
        reasons: list[str] = []
        retry_after: float | None = None
        for model in self.models:
            started = time.perf_counter()
            spent = total.latency_ms
            try:
                try:
                    reply, usage = await self._call(model, messages, json_schema, max_tokens)
                except Truncated:
                    # Pasting the broken text back would only invite the same cut: more room, and
                    # a request to be brief.
                    notes.append(f"{model}: reply cut off at its budget, asked again shorter")
                    total.calls += 1
                    budget = min(self.max_tokens, 2 * (max_tokens or self.max_tokens))
                    brief = [*messages, {"role": "user", "content": (
                        "Your previous reply was cut off before it ended. Reply again with the complete JSON "
                        "object, keeping every text field short.")}]
                    reply, usage = await self._call(model, brief, json_schema, budget)
                total.add(usage)
                try:
                    return Answer(parse_json(reply, schema), model, total, notes=notes)
                except ValidationError as invalid:
                    notes.append(f"{model}: invalid output, asked to repair")
                    repair = [
                        *messages,
                        {"role": "assistant", "content": reply[:4000]},
                        {"role": "user", "content": (
                            "That reply did not match the required JSON schema: "
                            f"{_error_summary(invalid)}. Reply again with only the corrected JSON object."
                        )},
                    ]
                    # At temperature 0 a repair can come back byte for byte the same: vary it.
                    reply, usage = await self._call(model, repair, json_schema, max_tokens, temperature=0.3)
                    total.add(usage)
                    total.repairs += 1
                    try:
                        return Answer(parse_json(reply, schema), model, total, notes=notes)
                    except ValidationError:
                        notes.append(f"{model}: still invalid after repair")
                        reasons.append("invalid_output")
            except Exception as exc:  # provider errors after the Router's own retries
                # A failed call took time too: the draft that waited for it says so.
                total.calls += 1
                total.latency_ms = spent + int((time.perf_counter() - started) * 1000)
                reasons.append(fault_reason(exc))
                header = getattr(getattr(exc, "response", None), "headers", None) or {}
                try:
                    retry_after = max(retry_after or 0.0, float(header.get("retry-after", "")))
                except (TypeError, ValueError):
                    pass
                notes.append(f"{model}: {type(exc).__name__}: {str(exc)[:200]}")
        raise ModelUnavailable(
            "no model produced a valid answer: " + " | ".join(notes), retry_after_s=retry_after,
            reason=reasons[0] if reasons else "unavailable", usage=total,
        )


async def check_server(settings, timeout_s: float = 3.0) -> str | None:
    """Whether the configured model's own server answers (an OpenAI-compatible ``/models``, or
    Ollama's default address), before drafts wait on it. None when it does, or when the model
    is a hosted provider's (there is nothing of ours to check); else what is wrong, in words."""
    import httpx

    if settings.model == "offline":
        return None
    if settings.model_api_base:
        url = settings.model_api_base.rstrip("/") + "/models"
    elif settings.model.startswith(("ollama/", "ollama_chat/")):
        url = "http://localhost:11434/api/tags"
    else:
        return None
    try:
        async with httpx.AsyncClient(timeout=timeout_s) as http:
            response = await http.get(url)
    except httpx.TimeoutException:
        return f"the model server at {url} did not answer within {timeout_s:g} s"
    except httpx.HTTPError as exc:
        return f"the model server at {url} could not be reached ({type(exc).__name__})"
    if response.status_code >= 500:
        return f"the model server at {url} answered {response.status_code}"
    return None
