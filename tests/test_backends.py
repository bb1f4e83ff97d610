"""Backend contract tests. The OpenAI backend talks real HTTP to a small server started here on 127.0.0.1."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from codecurate.errors import UserError
from codecurate.llm import load_backend
from codecurate.llm.base import Request, SamplingParams
from codecurate.llm.hf import prefix_groups, sampling_batches, truncate_at_stop
from codecurate.llm.openai import DEFAULT_BASE_URL, resolve_base_url


def canned_reply(messages: list[dict]) -> str:
    """A plausible generator/discriminator answer for the built-in templates (a stand-in for an LLM)."""
    system, user = messages[0]["content"], messages[-1]["content"]
    if "review one training example" in system:
        return "1. yes - clear\n2. yes - correct\n3. yes - right language"
    blocks = re.findall(r"```\w*\n(.*?)\n```", user, re.S)
    code = blocks[-1] if blocks else "pass"
    if "BUGGY:" in system:
        return f"BUGGY:\n{code.replace('return ', 'return 1 + ')}\nINSTRUCTION: It returns a wrong value. Fix it.\n" \
               "EXPLANATION: A stray 1 + was added to the result."  # fmt: skip
    if "Rewrite" in system:
        name = re.search(r"def (\w+)", code)
        return f"INSTRUCTION: Rewrite this in JavaScript.\nOUTPUT:\n```javascript\nfunction {name.group(1) if name else 'f'}(x) {{\n  return x;\n}}\n```"  # noqa: E501
    if "explanation" in system and "Explain" not in system:
        return "INSTRUCTION: The function returns a wrong value. Fix it.\nEXPLANATION: The comparison is inverted."
    if "explain it" in system:
        first = code.splitlines()[0][:60]
        return f"INSTRUCTION: Explain what this code does.\nOUTPUT: It defines `{first}` and returns its result."
    return f"INSTRUCTION: Write a function like the one shown, for input {len(user)}.\nOUTPUT:\n```python\n{code}\n```"


def canned_completion(prompt: str) -> str:
    """A raw continuation that names the prompt it continues (so tests can check the order of answers)."""
    return f"    return {len(prompt)}\n"


class FakeOpenAI:
    """/v1/chat/completions and /v1/completions with behaviour picked by the request's model name:

    ``ok``; ``429`` / ``500`` (always); ``flaky`` (429 then 500 then ok, per conversation); ``hang`` (never
    answers in time); ``empty`` (an empty message); ``slow`` (answers after ``delay`` seconds); ``nolist``
    (/v1/completions refuses a list of prompts, as some servers do). ``GET /v1/models`` answers ``models_status``.
    """

    def __init__(self, delay: float = 0.0, reply=canned_reply, complete=canned_completion, models_status=200):
        self.delay, self.reply, self.complete, self.models_status = delay, reply, complete, models_status
        self.hits: Counter = Counter()
        self.batches: list[int] = []  # prompts per /v1/completions request
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                with owner.lock:
                    owner.hits[f"GET {self.path}"] += 1
                if self.path != "/v1/models":
                    return owner.send(self, 404, {"error": "not found"})
                owner.send(self, owner.models_status, {"object": "list", "data": [{"id": "ok", "object": "model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/v1/completions":
                    return owner.handle_text(self, body)
                owner.handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, h: BaseHTTPRequestHandler, body: dict) -> None:
        mode = body["model"]
        key = json.dumps(body["messages"])
        with self.lock:
            self.hits[mode] += 1
            self.hits[key] += 1
            n = self.hits[key]
        if h.path != "/v1/chat/completions":
            return self.send(h, 404, {"error": "not found"})
        if mode == "hang":
            time.sleep(2.0)
            return self.send(h, 200, {})
        if mode == "429" or (mode == "flaky" and n == 1):
            return self.send(h, 429, {"error": "rate limited"}, {"Retry-After": "0"})
        if mode == "500" or (mode == "flaky" and n == 2):
            return self.send(h, 500, {"error": "boom"})
        if mode == "401":
            return self.send(h, 401, {"error": "bad key"})
        if mode == "slow":
            time.sleep(self.delay)
        text = "" if mode == "empty" else self.reply(body["messages"])
        choices = [{"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                   for i in range(body.get("n", 1))]  # fmt: skip
        usage = {"prompt_tokens": 7, "completion_tokens": len(text.split()), "total_tokens": 7 + len(text.split())}
        self.send(h, 200, {"choices": choices, "usage": usage, "auth": h.headers.get("Authorization")})

    def handle_text(self, h: BaseHTTPRequestHandler, body: dict) -> None:
        mode, prompts = body["model"], body["prompt"]
        batch = prompts if isinstance(prompts, list) else [prompts]
        with self.lock:
            self.hits[f"text {mode}"] += 1
            self.batches.append(len(batch))
        if mode == "nolist" and isinstance(prompts, list):
            return self.send(h, 400, {"error": "prompt must be a string"})
        n = body.get("n", 1)
        texts = [self.complete(p) for p in batch for _ in range(n)]
        # Choices in reverse order: their "index" (prompt * n + sample) must be what puts them in place.
        choices = [{"index": i, "text": t, "finish_reason": "stop"} for i, t in enumerate(texts)][::-1]
        usage = {"prompt_tokens": 5 * len(batch), "completion_tokens": sum(len(t.split()) for t in texts)}
        self.send(h, 200, {"object": "text_completion", "choices": choices, "usage": usage})

    @staticmethod
    def send(h: BaseHTTPRequestHandler, status: int, obj: dict, headers: dict | None = None) -> None:
        data = json.dumps(obj).encode()
        try:
            h.send_response(status)
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server():
    s = FakeOpenAI()
    yield s
    s.close()


def _req(text: str = "hi", **params) -> Request:
    return Request([{"role": "user", "content": text}], SamplingParams(**params))


def _openai(server: FakeOpenAI, model: str, **options):
    options = {"base_url": server.url, "backoff": 0.01, "timeout": 5.0} | options
    return load_backend("openai", model, **options)


def test_openai_answers_in_order_with_token_counts(server):
    b = _openai(server, "ok", concurrency=4)
    out = b.complete([_req("q" * (i + 1)) for i in range(6)])
    assert [r.error for r in out] == [None] * 6
    # Each answer belongs to its own request: the canned reply embeds the prompt length.
    assert [f"for input {i + 1}." in r.text for i, r in enumerate(out)] == [True] * 6
    assert all(r.prompt_tokens == 7 and r.completions[0].completion_tokens > 0 for r in out)
    assert server.hits["ok"] == 6


def test_openai_n_completions(server):
    out = _openai(server, "ok").complete([_req(n=3)])
    assert len(out[0].completions) == 3


def test_openai_retries_429_and_500_then_succeeds(server):
    out = _openai(server, "flaky", max_retries=3).complete([_req("a"), _req("b")])
    assert [r.error for r in out] == [None, None]
    assert server.hits["flaky"] == 6  # 429, 500, ok for each of the two


def test_openai_gives_up_after_retries(server):
    out = _openai(server, "500", max_retries=2).complete([_req()])
    assert out[0].error == "HTTP 500 after 3 attempts" and out[0].text == ""
    assert server.hits["500"] == 3
    out = _openai(server, "429", max_retries=1).complete([_req()])
    assert "HTTP 429" in out[0].error


def test_openai_client_error_is_not_retried(server):
    out = _openai(server, "401", max_retries=3).complete([_req()])
    assert out[0].error.startswith("HTTP 401") and server.hits["401"] == 1


def test_openai_timeout_is_an_error_not_an_exception(server):
    t = time.perf_counter()
    out = _openai(server, "hang", timeout=0.3, max_retries=1).complete([_req()])
    assert out[0].error == "timeout after 2 attempts"
    assert time.perf_counter() - t < 5


def test_openai_empty_response_is_flagged(server):
    out = _openai(server, "empty").complete([_req()])
    assert out[0].error == "empty response"


def test_openai_connection_lost_after_start_is_a_request_error(server):
    b = _openai(server, "ok", max_retries=1)
    server.close()  # the server goes away mid-run: requests fail one by one, the run goes on
    assert b.complete([_req()])[0].error.startswith("connection error")


def test_unreachable_endpoint_is_one_user_error_at_once():
    t = time.perf_counter()
    with pytest.raises(UserError, match=r"cannot reach http://127\.0\.0\.1:9/v1 \(from base_url\).*OPENAI_BASE_URL"):
        load_backend("openai", "m", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(UserError, match=r"cannot reach http://no-such-host\.invalid/v1 \(from base_url\): "):
        load_backend("openai", "m", base_url="http://no-such-host.invalid/v1")  # the case: a bad host name
    # A server that accepts connections but never answers fails after the short probe, not after every retry.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        with pytest.raises(UserError, match=r"no answer from .* within 0\.5 s"):
            load_backend("openai", "m", base_url=url, probe_timeout=0.5)
    finally:
        silent.close()
    assert time.perf_counter() - t < 10
    with pytest.raises(UserError, match="must start with http"):
        load_backend("openai", "m", base_url="localhost:8000/v1")


def test_refused_key_is_one_user_error(monkeypatch):
    s = FakeOpenAI(models_status=401)
    try:
        monkeypatch.setenv("OPENAI_API_KEY", "sekrit-key")
        with pytest.raises(UserError, match=r"refused the API key \(HTTP 401\); set \$OPENAI_API_KEY") as e:
            load_backend("openai", "m", base_url=s.url)
        assert "sekrit" not in str(e.value)
    finally:
        s.close()


def test_base_url_from_environment_as_the_official_client_reads_it(server, monkeypatch, caplog):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert resolve_base_url(None) == (DEFAULT_BASE_URL, "default") == ("https://api.openai.com/v1", "default")
    monkeypatch.setenv("OPENAI_BASE_URL", "")
    assert resolve_base_url(None)[0] == DEFAULT_BASE_URL  # empty counts as unset
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sekrit-key")
    with caplog.at_level("INFO", logger="codecurate.llm.openai"):
        b = load_backend("openai", "ok")
    assert b.base_url == server.url and b.complete([_req()])[0].error is None
    assert server.hits["GET /v1/models"] == 1  # the probe
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"openai backend: {server.url} (from $OPENAI_BASE_URL), model ok, API key from $OPENAI_API_KEY"]
    assert resolve_base_url("http://x/v1") == ("http://x/v1", "base_url")  # an explicit URL wins


def test_openai_complete_text_batches_prompts_in_one_request(server):
    b = _openai(server, "ok", prompts_per_request=3)
    prompts = ["def f(x):\n", "def gg(x):\n", "def hhh(x):\n", "x" * 10]
    out = b.complete_text(prompts, [SamplingParams(max_tokens=8, n=2)] * 4)
    # 3 prompts in one request, the last one alone; the requests go out concurrently, so either may arrive first.
    assert sorted(server.batches) == [1, 3]
    assert [r.error for r in out] == [None] * 4
    assert [[c.text for c in r.completions] for r in out] == [[canned_completion(p)] * 2 for p in prompts]
    # usage is per request: shared out, the total stays what the server counted.
    assert sum(c.completion_tokens for r in out for c in r.completions) == 2 * 4 * 2


def test_openai_complete_text_applies_all_stop_strings_and_falls_back_to_one_prompt(server):
    stops = ["\n", "a", "b", "c", "0"]  # five stop strings: the API takes four, "0" is applied here
    b = _openai(server, "nolist")
    out = b.complete_text(["p" * 10, "q" * 20], [SamplingParams(stop=stops)] * 2)
    assert [r.text for r in out] == ["    return 1", "    return 2"]
    assert all(r.completions[0].finish_reason == "stop" for r in out)
    assert server.batches == [2, 1, 1]  # the list was refused once, then one prompt per request
    out = b.complete_text(["r", "s"], [SamplingParams()] * 2)
    assert server.batches[3:] == [1, 1] and out[0].error is None


def test_openai_api_key_from_configurable_env(server, monkeypatch):
    monkeypatch.setenv("MY_KEY", "sekrit")
    b = _openai(server, "ok", api_key_env="MY_KEY")
    r = b.client.post("/chat/completions", json={"model": "ok", "messages": [{"role": "user", "content": "x"}]})
    assert r.json()["auth"] == "Bearer sekrit"


def test_load_backend_errors():
    with pytest.raises(UserError, match="unknown backend 'nope'"):
        load_backend("nope", "m")
    with pytest.raises(UserError, match="bad option"):
        load_backend("openai", "m", colour="blue")


def test_vllm_missing_is_a_clear_error():
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(UserError, match=r"pip install 'codecurate\[gpu\]'"):
            load_backend("vllm", "smollm2")
    else:
        pytest.skip("vllm is installed")


def test_prefix_groups_share_the_longest_common_prefix_of_each_run():
    a = [1] * 20 + [2, 3]
    b = [1] * 20 + [4, 5, 6]
    c = [7] * 30
    d = [1] * 10 + [9] * 10
    groups = sorted(prefix_groups([a, c, b, d], min_shared=16))
    assert groups == [([0, 2], 20), ([1], 0), ([3], 0)]
    # Identical rows still keep one token each of their own to prefill (generate() feeds the last one).
    assert prefix_groups([a, list(a)], min_shared=16) == [([0, 1], len(a) - 2)]
    assert prefix_groups([a], min_shared=16) == [([0], 0)]


def test_old_import_paths_are_the_same_modules():
    """docs/generate.md: the backends moved to codecurate.llm; codecurate.generate.backends names the same modules."""
    import codecurate.generate.backends as old
    import codecurate.generate.backends.base as old_base
    import codecurate.generate.backends.hf as old_hf
    import codecurate.generate.backends.openai as old_openai
    import codecurate.generate.backends.vllm as old_vllm
    import codecurate.llm as llm
    from codecurate.llm import base, hf, openai, vllm

    assert (old_base, old_hf, old_openai, old_vllm) == (base, hf, openai, vllm)
    assert old_hf is hf and old.load_backend is llm.load_backend and old.BACKENDS is llm.BACKENDS
    assert {kind: module for kind, (module, _) in llm.BACKENDS.items()}["transformers"] == "codecurate.llm.hf"


def test_sampling_batches_group_equal_params_shortest_first():
    greedy, hot = SamplingParams(max_tokens=8), SamplingParams(temperature=0.7, max_tokens=8, seed=1)
    prompts = {0: "a" * 9, 1: "b", 2: "c" * 5, 3: "d" * 3, 4: "e" * 7}
    params = [greedy, hot, greedy, SamplingParams(temperature=0.7, max_tokens=8, seed=2), greedy]
    # Seeds differ but batch together (one seed per batch); each batch at most 2, shortest prompts first.
    assert sampling_batches(prompts, params, 2) == [[2, 4], [0], [1, 3]]
    assert sampling_batches({1: "x", 3: "y"}, params, 8) == [[1, 3]]  # indices of a partial request list


def test_truncate_at_stop():
    assert truncate_at_stop("abc\nEND more", ["END", "zz"]) == ("abc\n", True)
    assert truncate_at_stop("abc", ["x"]) == ("abc", False)
    assert truncate_at_stop("a b", []) == ("a b", False)


@pytest.mark.slow
def test_transformers_backend_contract():
    # float32: in bf16 a different batch shape may round differently and flip a greedy token (as on GPUs).
    b = load_backend("transformers", "smollm2", batch_size=4, dtype="float32")
    reqs = [
        _req("Say hello.", max_tokens=8),
        _req("Count: 1, 2, 3,", max_tokens=8),
        Request([{"role": "user", "content": "Name a colour."}], SamplingParams(max_tokens=6, stop=["e"])),
        Request([{"role": "nobody"}], SamplingParams(max_tokens=4)),  # malformed: fails alone
    ]
    out = b.complete(reqs)
    assert len(out) == 4
    for r in out[:3]:
        assert r.error is None and r.prompt_tokens > 5
        c = r.completions[0]
        assert 0 < c.completion_tokens <= 8 and c.finish_reason in ("stop", "length")
    assert "e" not in out[2].text
    assert out[3].error
    # Batching must not change greedy answers (left padding done right).
    alone = b.complete([reqs[1]])[0]
    assert alone.text == out[1].text
    # Raw completion (no chat template) continues the text itself, as base-model evaluation needs.
    raw = b.complete_text(["def add(a, b):\n    return"], [SamplingParams(max_tokens=6)])[0]
    assert raw.error is None and raw.completions[0].completion_tokens > 0
    assert raw.prompt_tokens < out[1].prompt_tokens  # no chat-template tokens around the prompt


@pytest.mark.slow
def test_transformers_row_prefill_gives_the_answers_of_one_at_a_time():
    b = load_backend("transformers", "smollm2", batch_size=8, dtype="float32")  # exact comparisons need fp32
    assert b.generator.prefill_rows  # SmolLM2 has plain key/value caches: the row-wise path must be the one tested here
    # Two system prompts: two groups of rows, each sharing its prefix.
    terse = {"role": "system", "content": "You are a terse assistant. Answer in a few words, never more than that."}
    poet = {"role": "system", "content": "You are a poet who answers every question with a short rhyme about it."}
    questions = ["Name a fruit.", "What is 2 + 2? Explain step by step.", "Hi.", "List three colours of the rainbow."]
    reqs = [
        Request([system, {"role": "user", "content": q}], SamplingParams(max_tokens=40))
        for system in (terse, poet)
        for q in questions
    ]
    calls = []
    prefill = b.generator.prefill
    b.generator.prefill = lambda rows, length: calls.append(len(rows)) or prefill(rows, length)
    together = b.complete(reqs)
    assert calls == [8]
    b.batch_size = 1
    alone = b.complete(reqs)
    assert calls == [8]  # one row needs no prefilled batch cache
    assert [r.text for r in together] == [r.text for r in alone]
    assert [r.prompt_tokens for r in together] == [r.prompt_tokens for r in alone]
    # Decoding in short segments drops finished rows in between; answers and token counts stay the same.
    b.batch_size, b.generator.segment = 8, 6
    segmented = b.complete(reqs)
    assert [r.text for r in segmented] == [r.text for r in alone]
    counts = [r.completions[0].completion_tokens for r in segmented]
    assert counts == [r.completions[0].completion_tokens for r in alone]
    assert any(r.completions[0].finish_reason == "stop" for r in alone)  # some rows did finish early
    assert any(r.completions[0].finish_reason == "length" for r in alone)
    assert all(r.error is None and r.completions[0].completion_tokens > 0 for r in together)
    # n samples of one prompt come back as n completions.
    b.batch_size = 8
    two = b.complete([Request(reqs[0].messages, SamplingParams(temperature=0.8, max_tokens=6, n=2, seed=3))])[0]
    assert len(two.completions) == 2 and all(c.completion_tokens > 0 for c in two.completions)


@pytest.mark.slow
@pytest.mark.parametrize(("native", "expected"), [(True, "bfloat16"), (False, "float32")])
def test_transformers_auto_dtype_is_bf16_only_on_cpus_with_native_bf16(monkeypatch, native, expected):
    import codecurate.models

    monkeypatch.setattr(codecurate.models, "cpu_has_bf16", lambda: native)
    b = load_backend("transformers", "smollm2", batch_size=2)
    assert str(b.model.dtype) == f"torch.{expected}"
    assert b.complete([_req("Say hello.", max_tokens=4)])[0].completions[0].completion_tokens > 0
