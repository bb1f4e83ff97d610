"""The one interface every LLM backend implements: a batch of chat requests in, a batch of responses out.

A backend never raises for a single bad request (a server error, a timeout, an empty answer): that request's
`Response.error` says what happened, so callers can count failures instead of crashing a long run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

Messages = list[dict[str, str]]  # [{"role": "system"|"user"|"assistant", "content": "..."}]


@dataclass
class SamplingParams:
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0
    max_tokens: int = 512
    stop: list[str] = field(default_factory=list)
    seed: int | None = 0
    n: int = 1


@dataclass
class Request:
    messages: Messages
    params: SamplingParams = field(default_factory=SamplingParams)


@dataclass
class Completion:
    text: str
    finish_reason: str = "stop"  # stop | length | error
    completion_tokens: int = 0


@dataclass
class Response:
    completions: list[Completion] = field(default_factory=list)
    prompt_tokens: int = 0
    error: str | None = None

    @property
    def text(self) -> str:
        """The first completion's text ("" when the request failed)."""
        return self.completions[0].text if self.completions else ""


def truncate_at_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    """Cut `text` before the first occurrence of any stop string; also say whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


class Backend(Protocol):
    name: str  # e.g. "transformers:/path/to/model", recorded as provenance

    def complete(self, requests: list[Request]) -> list[Response]: ...


class TextBackend(Backend, Protocol):
    """A backend that also takes raw prompts (no chat template): base models, HumanEval-style completion."""

    def complete_text(self, prompts: list[str], params: list[SamplingParams]) -> list[Response]: ...


class FunctionBackend:
    """A backend from a plain function ``messages -> text``: rule-based generators, and deterministic tests."""

    def __init__(self, fn: Callable[[Messages], str], name: str = "function"):
        self.fn = fn
        self.name = name

    def complete(self, requests: list[Request]) -> list[Response]:
        out = []
        for req in requests:
            try:
                texts = [self.fn(req.messages) for _ in range(req.params.n)]
            except Exception as e:  # a user function failing is one failed request, as for a server
                out.append(Response(error=f"{type(e).__name__}: {e}"))
                continue
            out.append(Response([Completion(t, "stop", len(t.split())) for t in texts]))
        return out
