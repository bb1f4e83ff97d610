"""Any OpenAI-compatible chat server: ``vllm serve``, llama.cpp server, Ollama, hosted APIs.

Requests run in a thread pool (``concurrency`` at a time). 429, 5xx, timeouts and dropped connections are
retried with exponential backoff (honouring ``Retry-After``); other 4xx answers fail that request at once.
A request that still fails comes back with ``Response.error`` set, never as an exception.
"""

from __future__ import annotations

import logging
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from codecurate.errors import UserError
from codecurate.generate.backends.base import Completion, Request, Response

log = logging.getLogger(__name__)

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class OpenAIBackend:
    def __init__(
        self,
        model: str,
        base_url: str = "https://api.openai.com/v1",
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        max_retries: int = 4,
        timeout: float = 120.0,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
    ):
        import httpx

        if concurrency < 1 or max_retries < 0 or timeout <= 0:
            raise UserError("backend openai: concurrency >= 1, max_retries >= 0 and timeout > 0 are required")
        key = os.environ.get(api_key_env, "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        # Local servers need no key; hosted APIs answer 401, which is reported per request.
        self.client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)
        self.model = model
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.name = f"openai:{model}@{base_url}"

    def complete(self, requests: list[Request]) -> list[Response]:
        if not requests:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(requests))) as pool:
            return list(pool.map(self._one, requests))

    def _payload(self, req: Request) -> dict[str, Any]:
        p = req.params
        body: dict[str, Any] = {
            "model": self.model,
            "messages": req.messages,
            "temperature": p.temperature,
            "top_p": p.top_p,
            "max_tokens": p.max_tokens,
            "n": p.n,
        }
        if p.stop:
            body["stop"] = list(p.stop)[:4]  # the OpenAI API takes at most four
        if p.seed is not None:
            body["seed"] = p.seed
        return body

    def _one(self, req: Request) -> Response:
        import httpx

        body = self._payload(req)
        error, retry_after = "no attempt made", None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self._delay(attempt, retry_after))
                retry_after = None
            try:
                r = self.client.post("/chat/completions", json=body)
            except httpx.TimeoutException:
                error = "timeout"
                continue
            except httpx.TransportError as e:
                error = f"connection error: {e}"
                continue
            if r.status_code in RETRY_STATUS:
                error = f"HTTP {r.status_code}"
                retry_after = r.headers.get("retry-after")
                continue
            if r.status_code >= 400:
                return Response(error=f"HTTP {r.status_code}: {r.text[:200]}")
            return _parse(r)
        return Response(error=f"{error} after {self.max_retries + 1} attempts")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.max_backoff)
            except ValueError:
                pass
        # Full jitter keeps many threads from retrying in lockstep against a recovering server.
        return random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))


def _parse(r: Any) -> Response:
    try:
        data = r.json()
        choices = data["choices"]
    except (ValueError, KeyError, TypeError):
        return Response(error=f"malformed response: {r.text[:200]!r}")
    usage = data.get("usage") or {}
    completions = []
    for c in choices:
        text = ((c.get("message") or {}).get("content")) or ""
        completions.append(Completion(text, c.get("finish_reason") or "stop", 0))
    if len(completions) == 1:
        completions[0].completion_tokens = int(usage.get("completion_tokens") or 0)
    error = None if any(c.text for c in completions) else "empty response"
    return Response(completions, prompt_tokens=int(usage.get("prompt_tokens") or 0), error=error)
