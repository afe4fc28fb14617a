"""A fake model provider behind respx: it reads Beacon's real prompts and answers the way a
model would (quoting sentences from the work it was shown), in the wire format of OpenAI-
compatible APIs, Anthropic or Ollama. Tests script its faults."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

WORK = re.compile(r"<student_work>\n(.*?)\n</student_work>", re.DOTALL)
CRITERIA = re.compile(r"one entry for each criterion \(([^)]+)\)")


def prompt_text(body: dict) -> str:
    parts = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, list):
            parts.extend(c.get("text", "") for c in content if isinstance(c, dict))
        elif content:
            parts.append(content)
    system = body.get("system")
    if isinstance(system, list):
        parts.extend(s.get("text", "") for s in system)
    elif isinstance(system, str):
        parts.append(system)
    return "\n".join(parts)


def assessment_for(prompt: str, *, hallucinate: bool = False, invent: bool = False, level: int = 2) -> dict:
    work = WORK.search(prompt).group(1)
    ids = [c.strip() for c in CRITERIA.search(prompt).group(1).split(",")]
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", work) if len(s.strip()) > 20]
    criteria = []
    for i, cid in enumerate(ids):
        quote = sentences[i % len(sentences)] if sentences else work[:40]
        quotes = [quote]
        if hallucinate and i == 0:
            quotes = ["This sentence was never written by the student."]
        criteria.append({"criterion_id": cid, "level": level, "quotes": quotes,
                         "rationale": "The work shows this in places.", "confidence": 0.7})
    if invent:
        criteria.append({"criterion_id": "made-up-criterion", "level": 4, "quotes": [],
                         "rationale": "Invented.", "confidence": 0.9})
    return {"criteria": criteria}


FEEDBACK = {
    "strengths": ["You open with a position a reader can find, and you give a reason for it right away."],
    "next_steps": ["Add one piece of evidence from a source for your second reason, and explain how it supports your position."],
    "question": "Which of your reasons would convince a reader who disagrees with you, and why?",
    "improvements": [],
}


TRUNCATED = '{"criteria": [{"criterion_id": "claim", "level": 3, "quotes": ["The'


@dataclass
class FakeProvider:
    """Answers chat calls; ``faults`` are consumed first (a status code, 'timeout' or 'invalid')."""

    faults: list = field(default_factory=list)
    hallucinate: bool = False
    invent: bool = False
    bodies: list[str] = field(default_factory=list)
    answers: list[Callable] = field(default_factory=list)
    project_modes: list[str] = field(default_factory=list)  # "good", "unsafe", "similar", "invented"

    def reply(self, prompt: str) -> dict:
        if "Design 3 projects" in prompt:
            mode = self.project_modes.pop(0) if self.project_modes else "good"
            return projects_for(prompt, mode)
        if "Assess the work against the rubric" in prompt:
            return assessment_for(prompt, hallucinate=self.hallucinate, invent=self.invent)
        return FEEDBACK

    def _fault(self, request: httpx.Request):
        if not self.faults:
            return None
        fault = self.faults.pop(0)
        if fault == "timeout":
            raise httpx.ReadTimeout("the fake provider timed out", request=request)
        if fault == "invalid":
            return "this is not json {"
        if fault == "length":  # the reply ran to its max_tokens: cut off mid-object
            return TRUNCATED
        if isinstance(fault, tuple):
            status, headers = fault
            return httpx.Response(status, headers=headers, json={"error": {"message": f"fake {status}", "type": "error"}})
        return httpx.Response(fault, json={"error": {"message": f"fake {fault}", "type": "error"}})

    def _content(self, request: httpx.Request) -> tuple[str | httpx.Response, dict]:
        raw = request.content.decode()
        self.bodies.append(raw)
        body = json.loads(raw)
        fault = self._fault(request)
        if isinstance(fault, httpx.Response):
            return fault, body
        return (fault if fault is not None else json.dumps(self.reply(prompt_text(body)))), body

    def openai(self, request: httpx.Request) -> httpx.Response:
        content, body = self._content(request)
        if isinstance(content, httpx.Response):
            return content
        finish = "length" if content is TRUNCATED else "stop"
        return httpx.Response(200, json={
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 1, "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
            "usage": {"prompt_tokens": len(raw_words(body)), "completion_tokens": len(content.split()),
                      "total_tokens": len(raw_words(body)) + len(content.split())},
        })

    def anthropic(self, request: httpx.Request) -> httpx.Response:
        content, body = self._content(request)
        if isinstance(content, httpx.Response):
            return content
        return httpx.Response(200, json={
            "id": "msg_fake", "type": "message", "role": "assistant", "model": body.get("model", "fake"),
            "content": [{"type": "text", "text": content}], "stop_reason": "end_turn",
            "usage": {"input_tokens": len(raw_words(body)), "output_tokens": len(content.split())},
        })

    def ollama(self, request: httpx.Request) -> httpx.Response:
        content, body = self._content(request)
        if isinstance(content, httpx.Response):
            return content
        return httpx.Response(200, json={
            "model": body.get("model", "fake"), "created_at": "2026-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": content}, "done": True,
            "prompt_eval_count": len(raw_words(body)), "eval_count": len(content.split()),
        })


def raw_words(body: dict) -> list[str]:
    return prompt_text(body).split()


INTERESTS = re.compile(r"<student_interests>\n(.*?)\n</student_interests>", re.DOTALL)
TARGET = re.compile(r"^- ([a-z0-9-]+) \(", re.M)
FOCUS = re.compile(r"^  - ([a-z0-9-]+) \(", re.M)


def projects_for(prompt: str, mode: str = "good") -> dict:
    """Three proposals built from what the project prompt asked for: its competency and criterion
    ids and the student's interests. ``mode`` scripts a model's mistakes."""
    interests = [i for i in INTERESTS.search(prompt).group(1).split("\n") if i.strip()]
    competency = TARGET.search(prompt).group(1)
    criteria = FOCUS.findall(prompt)[:2]
    kinds = {"film": ("storyboard shots", "edit footage interviews", "documentary screening"),
             "build": ("sketch designs", "prototype testing trials", "working model demonstration"),
             "campaign": ("petition letter", "posters speeches council", "persuasive campaign package")}
    proposals = []
    for n, (kind, (first, second, product)) in enumerate(kinds.items()):
        interest = interests[n % len(interests)]
        proposals.append({
            "title": f"{interest.title()} {kind.title()}",
            "driving_question": f"How could a {kind} about {interest} change minds?",
            "product_kind": kind,
            "why_it_fits": f"You said you like {interest}.",
            "interests_used": [interest],
            "competencies": [{"competency_id": competency, "criteria": criteria}],
            "milestones": [
                {"title": first.title(), "evidence": first,
                 "criteria": [{"competency_id": competency, "criterion_id": criteria[0]}]},
                {"title": second.title(), "evidence": second,
                 "criteria": [{"competency_id": competency, "criterion_id": criteria[-1]}]},
            ],
            "final_product": product,
            "audience": "families at the spring showcase",
            "scaffolds": ["a planning template"], "resources": ["the public library"],
            "duration_weeks": 4, "checkpoints": ["after the first version, get feedback and revise"],
            "safety_note": None,
        })
    if mode == "unsafe":
        proposals[1]["milestones"][1]["evidence"] = "test the build by jumping off the garage roof with fireworks"
    if mode == "similar":
        proposals = [dict(proposals[0], product_kind=k) for k in kinds]  # one idea three times
    if mode == "invented":
        proposals[0]["competencies"].append({"competency_id": "underwater-basket-weaving", "criteria": ["knots"]})
    return {"proposals": proposals}
