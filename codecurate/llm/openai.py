"""Any OpenAI-compatible server: ``vllm serve``, llama.cpp server, Ollama, hosted APIs.

The endpoint and key are found as the official ``openai`` client finds them: ``base_url`` if given (``--base-url``
or ``backend_options: {base_url: ...}``), else ``$OPENAI_BASE_URL``, else ``https://api.openai.com/v1``; the key
from ``$OPENAI_API_KEY`` (or the variable ``api_key_env`` names). Unlike the official client a missing key is not
an error, since local servers need none. The resolved endpoint is logged once; the key never is.

Construction probes the server (``GET /models``, ``probe_timeout`` seconds; 0 skips it): a server that cannot be
reached (refused, unknown host), that does not answer in time, or that refuses the key is one `UserError` at once
instead of every request failing after its retries. Any other answer, 404 included, counts as up.

Chat requests go to ``/chat/completions`` and raw prompts (`complete_text`, base models) to ``/completions``,
up to ``prompts_per_request`` prompts in one request (the completions API takes a list of prompts); a server
that rejects a list gets one prompt per request from then on. Requests run in a thread pool (``concurrency`` at a
time). 429, 5xx, timeouts and dropped connections are retried with exponential backoff (honouring
``Retry-After``); other 4xx answers fail that request at once. A request that still fails comes back with
``Response.error`` set, never as an exception. Stop strings beyond the API's four are applied here.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from codecurate.errors import UserError
from codecurate.llm.base import Completion, Request, Response, SamplingParams, truncate_at_stop

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com/v1"  # the official client's default
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
MAX_API_STOPS = 4  # the OpenAI API takes at most four stop strings


def resolve_base_url(base_url: str | None = None) -> tuple[str, str]:
    """The endpoint and where it came from: the option, ``$OPENAI_BASE_URL``, or the official default.
    An empty value counts as unset."""
    if base_url:
        return base_url, "base_url"
    env = os.environ.get("OPENAI_BASE_URL")
    if env:
        return env, "$OPENAI_BASE_URL"
    return DEFAULT_BASE_URL, "default"


class OpenAIBackend:
    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        max_retries: int = 4,
        timeout: float = 120.0,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        probe_timeout: float = 5.0,
        prompts_per_request: int = 16,
    ):
        import httpx

        if concurrency < 1 or max_retries < 0 or timeout <= 0 or prompts_per_request < 1:
            raise UserError(
                "backend openai: concurrency >= 1, max_retries >= 0, timeout > 0 and prompts_per_request >= 1 "
                "are required"
            )
        url, origin = resolve_base_url(base_url)
        if not url.startswith(("http://", "https://")):
            raise UserError(f"backend openai: base URL {url!r} (from {origin}) must start with http:// or https://")
        url = url.rstrip("/")
        key = os.environ.get(api_key_env, "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = httpx.Client(base_url=url, headers=headers, timeout=timeout)
        self.base_url = url
        self.model = model
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.prompts_per_request = prompts_per_request
        self._lock = threading.Lock()
        self.name = f"openai:{model}@{url}"
        log.info("openai backend: %s (from %s), model %s, API key %s", url, origin, model,
                 f"from ${api_key_env}" if key else f"none (${api_key_env} unset)")  # fmt: skip
        if probe_timeout > 0:
            self._probe(probe_timeout, origin, api_key_env)

    def _probe(self, seconds: float, origin: str, api_key_env: str) -> None:
        """One short GET /models: unreachable or key refused -> UserError; any other answer means the server is up
        (servers without /models answer 404, which is fine)."""
        import httpx

        hint = "--base-url, backend_options.base_url or $OPENAI_BASE_URL"
        try:
            r = self.client.get("/models", timeout=seconds)
        except (httpx.ConnectError, httpx.UnsupportedProtocol) as e:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise UserError(
                f"cannot reach {self.base_url} (from {origin}): {reason}; start the server or set {hint}"
            ) from None
        except httpx.TimeoutException:  # connected (or not) but silent: every request would wait out its timeout
            raise UserError(
                f"no answer from {self.base_url} (from {origin}) within {seconds:g} s; is the server up? ({hint})"
            ) from None
        except httpx.TransportError as e:  # answered, oddly: let the requests and their retries decide
            log.warning("%s: probe GET /models failed (%s); trying the requests anyway", self.base_url, e)
            return
        if r.status_code in (401, 403):
            raise UserError(f"{self.base_url} refused the API key (HTTP {r.status_code}); set ${api_key_env}")

    # ------------------------------------------------------------------ chat
    def complete(self, requests: list[Request]) -> list[Response]:
        if not requests:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(requests))) as pool:
            return list(pool.map(self._chat_one, requests))

    def _sampling(self, p: SamplingParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model, "temperature": p.temperature, "top_p": p.top_p, "max_tokens": p.max_tokens, "n": p.n,
        }  # fmt: skip
        if p.stop:
            body["stop"] = list(p.stop)[:MAX_API_STOPS]
        if p.seed is not None:
            body["seed"] = p.seed
        return body

    def _payload(self, req: Request) -> dict[str, Any]:
        return {**self._sampling(req.params), "messages": req.messages}

    def _chat_one(self, req: Request) -> Response:
        r, error = self._post("/chat/completions", self._payload(req))
        if r is None:
            return Response(error=error)
        return _parse_chat(r, req.params.stop)

    # ------------------------------------------------------------------ raw prompts
    def complete_text(self, prompts: list[str], params: list[SamplingParams]) -> list[Response]:
        """Raw prompts through ``/completions`` (no chat template): base models and completion-style eval.
        Prompts with equal sampling settings share requests, ``prompts_per_request`` at a time."""
        groups: dict[str, list[int]] = {}
        for i, p in enumerate(params):
            groups.setdefault(repr(p), []).append(i)
        chunks = [idx[s : s + self.prompts_per_request] for idx in groups.values()
                  for s in range(0, len(idx), self.prompts_per_request)]  # fmt: skip
        out: list[Response | None] = [None] * len(prompts)
        if not chunks:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(chunks))) as pool:
            for chunk, responses in zip(chunks, pool.map(lambda c: self._text_chunk(c, prompts, params), chunks),
                                        strict=True):  # fmt: skip
                for i, resp in zip(chunk, responses, strict=True):
                    out[i] = resp
        return [r if r is not None else Response(error="not generated") for r in out]

    def _text_chunk(self, chunk: list[int], prompts: list[str], params: list[SamplingParams]) -> list[Response]:
        p = params[chunk[0]]
        if len(chunk) > 1 and self.prompts_per_request > 1:
            body = {**self._sampling(p), "prompt": [prompts[i] for i in chunk]}
            r, error = self._post("/completions", body)
            if r is not None:
                parsed = _parse_text(r, len(chunk), p.n, p.stop)
                if parsed is not None:
                    return parsed
                error = "answer does not hold n choices per prompt"
            if not _refuses_lists(error):
                return [Response(error=error) for _ in chunk]
            with self._lock:
                if self.prompts_per_request > 1:
                    log.warning("%s: a list of prompts was refused (%s); sending one prompt per request",
                                self.base_url, error[:120])  # fmt: skip
                    self.prompts_per_request = 1
        results = []
        for i in chunk:
            r, error = self._post("/completions", {**self._sampling(params[i]), "prompt": prompts[i]})
            parsed = _parse_text(r, 1, params[i].n, params[i].stop) if r is not None else None
            results.append(parsed[0] if parsed else Response(error=error or "malformed response"))
        return results

    # ------------------------------------------------------------------ HTTP
    def _post(self, path: str, body: dict[str, Any]) -> tuple[Any, str]:
        """The HTTP response of a successful POST, or None and why it failed (after retries where they help)."""
        import httpx

        error, retry_after = "no attempt made", None
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self._delay(attempt, retry_after))
                retry_after = None
            try:
                r = self.client.post(path, json=body)
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
                return None, f"HTTP {r.status_code}: {r.text[:200]}"
            return r, ""
        return None, f"{error} after {self.max_retries + 1} attempts"

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.max_backoff)
            except ValueError:
                pass
        # Full jitter keeps many threads from retrying in lockstep against a recovering server.
        return random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))


def _refuses_lists(error: str) -> bool:
    """A batched /completions request failed because of the list itself: a client error that is not about the key
    or the rate (those carry their code and ': '; retried codes end in 'after N attempts'), or a misshapen answer."""
    if error.startswith("answer"):
        return True
    return error.startswith("HTTP 4") and error[8:10] == ": " and not error.startswith(("HTTP 401", "HTTP 403"))


def _completion(text: str, finish_reason: str | None, stop: list[str]) -> Completion:
    text, stopped = truncate_at_stop(text, stop)
    return Completion(text, "stop" if stopped else finish_reason or "stop", 0)


def _parse_chat(r: Any, stop: list[str]) -> Response:
    try:
        data = r.json()
        choices = data["choices"]
    except (ValueError, KeyError, TypeError):
        return Response(error=f"malformed response: {r.text[:200]!r}")
    usage = data.get("usage") or {}
    completions = [_completion(((c.get("message") or {}).get("content")) or "", c.get("finish_reason"), stop)
                   for c in choices]  # fmt: skip
    if len(completions) == 1:
        completions[0].completion_tokens = int(usage.get("completion_tokens") or 0)
    error = None if any(c.text for c in completions) else "empty response"
    return Response(completions, prompt_tokens=int(usage.get("prompt_tokens") or 0), error=error)


def _parse_text(r: Any, prompts: int, n: int, stop: list[str]) -> list[Response] | None:
    """Responses of a /completions answer for `prompts` prompts with `n` choices each (choices are ordered by
    ``index`` = prompt * n + sample); None when the answer does not have that shape."""
    try:
        data = r.json()
        choices = sorted(data["choices"], key=lambda c: int(c.get("index", 0)))
        texts = [(str(c.get("text") or ""), c.get("finish_reason")) for c in choices]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if len(texts) != prompts * n:
        return None
    usage = data.get("usage") or {}
    completions = [_completion(t, reason, stop) for t, reason in texts]
    # Usage counts the whole request; share it out by text length so that totals (tokens/s) stay exact.
    _share(completions, int(usage.get("completion_tokens") or 0))
    prompt_tokens = int(usage.get("prompt_tokens") or 0) // max(1, prompts)
    out = []
    for i in range(prompts):
        mine = completions[i * n : (i + 1) * n]
        error = None if any(c.text for c in mine) else "empty response"
        out.append(Response(mine, prompt_tokens=prompt_tokens, error=error))
    return out


def _share(completions: list[Completion], total: int) -> None:
    weights = [len(c.text) + 1 for c in completions]
    parts = [total * w // sum(weights) for w in weights]
    for j in range(total - sum(parts)):  # the rounding remainder, one token each
        parts[j % len(parts)] += 1
    for c, k in zip(completions, parts, strict=True):
        c.completion_tokens = k
