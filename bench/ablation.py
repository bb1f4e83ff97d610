"""Data-quality ablation: does a curated, execution-checked selection beat a random one of the same size?

    nice .venv/bin/python bench/ablation.py --smoke -o runs/ablation-smoke   # minutes: checks the plumbing only
    nice .venv/bin/python bench/ablation.py -o runs/ablation                 # est. under 1 h on 2 idle cores

Arms (same base model, same fine-tune and eval settings, same seed, same number of training rows):
- base: the base model, no fine-tuning;
- curated: fine-tuned on the rows of the curate stage's k-center coreset over the pool's *runnable* seeds;
- random: fine-tuned on the rows of a seeded random sample of the same size from the whole pool.

Recipe `seeds` (default, what runs offline here): the pool is the Python functions `codecurate mine` takes from the
standard library; mine probes each in the sandbox and marks it `runnable` (it defines without error, every name it
reads exists, it is callable). Each seed becomes one instruction row of the generate task's shape: the instruction
names the function's signature and gives its docstring, the answer is the function in a ```python block. So
"curated" here means execution-checked (runnable) plus diverse (k-center over the encoder's embeddings), and the
answers are the original human-written code in both arms; no LLM writes anything. What it does not test: the
generate stage's LLM rewriting and its --validate (answers run against seed tests).

Recipe `generate` (the full pipeline, NOT run in this repository: it needs a real generator model): curated = the
k-center coreset of the pool -> `generate --validate`; random = a random selection of the same number of seeds ->
the same generator without validation; both cut to the same size. Point it at a server with
`--generator-backend openai --base-url http://host:8000/v1 --generator NAME`, or a local model folder. The
embedded SmolLM2-135M writes no passing seed tests, so with it the curated arm comes out empty and the script
stops with one line.

Each arm is evaluated greedily on HumanEval and MBPP (sanitized test split; both bundled, so offline): pass@1 with
the eval summary's 95 % bootstrap interval over problems, and every comparison says "no measurable difference"
when the two intervals overlap (eval/passk.overlap). The table, the meaning of "curated", wall and CPU time and the
load average go to stdout, <out>/ablation.md and <out>/ablation.json. Every stage caches its output in <out> (mine,
coreset, rows, fine-tune with its checkpoints, eval per batch), so a rerun of the same command continues.

Sizes. The defaults (32 rows per arm, 8 LoRA steps of 4 rows = one epoch, the first 40 problems of HumanEval and
of MBPP, greedy, 160 new tokens) are what 2 CPU cores allow in under an hour, by an estimate from the CPU time of
the smaller run recorded in bench/RESULTS.md (a LoRA step on SmolLM2-135M costs about 40-50 CPU seconds, an eval
problem about 12), not a timed run. All 164 + 257 problems (`--limit 0`) would take 2-3 hours on 2 cores. At
these sizes the arms can hardly differ; a run that could show a difference needs a GPU: raise --n, --max-steps,
--eval-max-tokens and use --limit 0.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import logging
import os
import random
import resource
import sys
import time
from pathlib import Path

from codecurate.config import from_dict
from codecurate.eval.compare import NO_DIFFERENCE, format_table
from codecurate.eval.passk import overlap
from codecurate.io import read_records, write_jsonl

CURATED_MEANS = {
    "seeds": (
        "curated = curate's k-center coreset (--method kcenter) over the pool's runnable seeds (each probed in the "
        "sandbox by mine); random = a seeded random sample of the same size from the whole pool; rows = "
        "docstring+signature -> the seed's own code (no LLM)"
    ),
    "generate": (
        "curated = k-center coreset of the pool -> generate --validate (answers run against seed tests); "
        "random = random coreset -> generate without validation; both cut to the same size"
    ),
}


def stage(module: str, cls: str, values: dict) -> dict:
    """Run one stage's `run` with a config built like the CLI builds it."""
    mod = importlib.import_module(module)
    return mod.run(from_dict(getattr(mod, cls), values, source=f"ablation:{cls}"))


def write_atomic(path: Path, records: list[dict]) -> None:
    """Write records so that a stopped run never leaves a half file that a rerun would take as done."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    write_jsonl(tmp, records)
    tmp.replace(path)


def mine_pool(args: argparse.Namespace, out: Path) -> Path:
    seeds = Path(args.seeds) if args.seeds else out / "seeds.jsonl"
    if not seeds.exists():
        stage("codecurate.curate.mine", "MineConfig", {"output": str(seeds), "languages": ["python"],
                                                       "max_per_language": args.pool, "seed": args.seed})  # fmt: skip
    return seeds


def coreset(args: argparse.Namespace, source: Path, target: Path, method: str) -> list[dict]:
    if not target.exists():
        values = {"input": str(source), "output": str(target), "n": args.n, "method": method, "seed": args.seed}
        stage("codecurate.curate.coreset", "CurateConfig", values)
    return read_records(target)


def signature(code: str) -> str | None:
    """`name(params)` of the code's first function, or None when it does not parse."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return f"{node.name}({ast.unparse(node.args)})"
    return None


def dedent_body(code: str) -> str:
    """A method's code as mine keeps it has its first line at column 0 and its body at the class's depth plus
    one; shift the body to one level (4 spaces) when the result still parses, else keep the code as it is."""
    lines = code.rstrip().splitlines()
    depth = min((len(x) - len(x.lstrip()) for x in lines[1:] if x.strip()), default=4)
    if depth <= 4:
        return code.rstrip()
    cut = depth - 4
    shifted = "\n".join([lines[0], *(x[cut:] if x[:cut].isspace() else x for x in lines[1:])])
    try:
        ast.parse(shifted)
    except SyntaxError:
        return code.rstrip()
    return shifted


def seed_row(seed: dict) -> dict | None:
    """One instruction row of the generate task's shape: docstring + signature -> the seed's code.

    The instruction reads like the eval prompts (a ```python block is asked for), so both fine-tuned arms learn the
    answer format equally; what differs between arms is only which seeds they got."""
    sig, doc = signature(seed.get("code") or ""), (seed.get("docstring") or "").strip()
    if not sig or not doc:
        return None
    instruction = (
        f"Write a Python function `{sig}` that does the following.\n\n{doc}\n\n"
        "Answer with the whole function in one ```python code block."
    )
    return {"id": seed.get("id", ""), "task": "generate", "language": "python", "seed_id": seed.get("id", ""),
            "instruction": instruction, "input": "", "output": f"```python\n{dedent_body(seed['code'])}\n```",
            "generator": "seed-code", "runnable": seed.get("runnable")}  # fmt: skip


def usable(records: list[dict], max_chars: int) -> list[dict]:
    """The pool both arms draw from: Python seeds with a docstring and a parsable function, at most `max_chars`
    of code (short rows keep a CPU step cheap; HumanEval and MBPP solutions are short too)."""
    return [r for r in records if r.get("language") == "python" and len(r.get("code") or "") <= max_chars
            and seed_row(r) is not None]  # fmt: skip


def rows_from_seeds(args: argparse.Namespace, out: Path) -> dict[str, Path]:
    sets = {arm: out / f"{arm}.train.jsonl" for arm in ("curated", "random")}
    if all(p.exists() for p in sets.values()):
        return sets
    pool = usable(read_records(mine_pool(args, out)), args.max_code_chars)
    runnable = [r for r in pool if r.get("runnable") is True]
    unknown = sum(1 for r in pool if "runnable" not in r)
    if unknown:
        # Fail closed: a seed whose probe did not run is not "runnable", and we say how many.
        print(f"{unknown} pool seeds carry no runnable mark (probe did not run): counted as not runnable")
    if len(runnable) < args.n or len(pool) < args.n:
        raise SystemExit(f"pool: {len(runnable)} runnable of {len(pool)} usable seeds, fewer than --n {args.n}; "
                         "use a larger --pool or a smaller --n")  # fmt: skip
    pool_runnable = out / "pool.runnable.jsonl"
    if not pool_runnable.exists():
        write_atomic(pool_runnable, runnable)
    picked = {
        "curated": coreset(args, pool_runnable, out / "curated.coreset.jsonl", "kcenter"),
        "random": random.Random(args.seed).sample(pool, args.n),
    }
    for arm, seeds in picked.items():
        rows = [row for row in map(seed_row, seeds) if row is not None]
        write_atomic(sets[arm], rows[: args.n])
    stats = {"pool": len(pool), "runnable": len(runnable), "no_mark": unknown,
             **{f"{arm}_runnable": sum(r.get("runnable") is True for r in s) for arm, s in picked.items()}}  # fmt: skip
    (out / "pool.json").write_text(json.dumps(stats, indent=1))
    return sets


def rows_from_generator(args: argparse.Namespace, out: Path) -> dict[str, Path]:
    seeds = mine_pool(args, out)
    sets = {}
    for arm, method, validate in (("curated", "kcenter", True), ("random", "random", False)):
        core = out / f"{arm}.coreset.jsonl"
        coreset(args, seeds, core, method)
        instructions = out / f"{arm}.instructions.jsonl"
        values = {"input": str(core), "output": str(instructions), "model": args.generator, "validate": validate,
                  "seed": args.seed, "max_tokens": args.gen_max_tokens, "backend": args.generator_backend}  # fmt: skip
        if args.base_url:
            values["base_url"] = args.base_url
        stage("codecurate.generate.loop", "GenerateConfig", values)
        sets[arm] = instructions
    # Equal size: the comparison is about which examples, not how many.
    records = {arm: read_records(path) for arm, path in sets.items()}
    size = min(len(r) for r in records.values())
    if size == 0:
        raise SystemExit("a generator accepted no examples for one arm; use a larger --n or a stronger --generator")
    for arm, recs in records.items():
        random.Random(args.seed).shuffle(recs)
        sets[arm] = out / f"{arm}.train.jsonl"
        write_atomic(sets[arm], recs[:size])
    return sets


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="tiny sizes: shows the plumbing works, says nothing else")
    p.add_argument("--recipe", choices=sorted(CURATED_MEANS), default="seeds", help="how the arms' rows are made")
    p.add_argument("--seeds", help="pool of seed records (default: mine the stdlib into <out>/seeds.jsonl)")
    p.add_argument("--data-dir", help="benchmark files instead of the bundled ones")
    p.add_argument("--benchmarks", default="humaneval,mbpp", help="comma-separated eval benchmarks")
    p.add_argument("--base", default="smollm2", help="model to fine-tune (and the 'base' arm)")
    p.add_argument("--prompt-format", default="chat", help="finetune --prompt-format (alpaca/wavecoder: base models)")
    p.add_argument("--prompt-style", default="chat", choices=["chat", "completion"], help="eval --prompt-style")
    p.add_argument("--generator", default="smollm2", help="recipe generate: instruction generator model")
    p.add_argument("--generator-backend", default="transformers", help="recipe generate: generate --backend")
    p.add_argument("--base-url", help="recipe generate: OpenAI-compatible endpoint of the generator")
    p.add_argument("--pool", type=int, default=2000, help="seeds mined (a seeded sample of the stdlib's)")
    p.add_argument("--max-code-chars", type=int, default=1000, help="recipe seeds: longest seed code in the pool")
    p.add_argument("--n", type=int, default=32, help="training rows per arm")
    p.add_argument("--max-steps", type=int, default=8, help="LoRA steps, the same for both arms")
    p.add_argument("--batch-size", type=int, default=4, help="fine-tune rows per step")
    p.add_argument("--limit", type=int, default=40, help="first N problems per benchmark (0: all)")
    p.add_argument("--eval-max-tokens", type=int, default=160, help="greedy answer budget per problem")
    p.add_argument("--eval-workers", type=int, default=None, help="sandbox processes during eval (default: CPUs)")
    p.add_argument("--gen-max-tokens", type=int, default=128, help="recipe generate: generator budget")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", default="runs/ablation")
    args = p.parse_args(argv)
    args.limit = args.limit or None  # 0: all problems
    if args.smoke:
        args.pool, args.n, args.max_steps = min(args.pool, 200), min(args.n, 8), min(args.max_steps, 2)
        args.limit, args.eval_max_tokens = min(args.limit or 3, 3), min(args.eval_max_tokens, 64)
    return args


def verdict(a: dict, b: dict) -> str:
    """b - a in pass@1, and whether their 95 % intervals tell them apart."""
    text = f"{b['pass@1'] - a['pass@1']:+.3f} pass@1"
    same = overlap(a["interval"], b["interval"])
    return text + (" (no interval)" if same is None else f" ({NO_DIFFERENCE})" if same else " (intervals apart)")


def finetune(args: argparse.Namespace, arm: str, path: Path, out: Path) -> dict:
    ft_dir = out / f"ft-{arm}"
    if not (ft_dir / "training_summary.json").exists():
        stage("codecurate.finetune.train", "FinetuneConfig", {
            "input": str(path), "model": args.base, "output": str(ft_dir), "max_steps": args.max_steps,
            "batch_size": args.batch_size, "seed": args.seed, "merge": True, "max_length": 1024,
            "prompt_format": args.prompt_format, "val_fraction": 0.0,  # every row trains; both arms alike
            "save_steps": max(1, args.max_steps // 2), "resume": any(ft_dir.glob("checkpoint-*")),
            "logging_steps": 1,  # the loss of every step, so the table's is the last step's
        })  # fmt: skip
    return json.loads((ft_dir / "training_summary.json").read_text())


def evaluate(args: argparse.Namespace, arm: str, model: str, benches: list[str], out: Path) -> list[dict]:
    eval_dir = out / f"eval-{arm}"
    values = {"model": model, "benchmarks": benches, "output": str(eval_dir), "data_dir": args.data_dir,
              "limit": args.limit, "n": 1, "temperature": 0.0, "seed": args.seed, "ks": [1],
              "max_tokens": args.eval_max_tokens, "prompt_style": args.prompt_style,
              "workers": args.eval_workers}  # fmt: skip
    stage("codecurate.eval.harness", "EvalConfig", {k: v for k, v in values.items() if v is not None})
    summary = json.loads((eval_dir / "summary.json").read_text())
    results = []
    for bench in benches:
        r = summary["benchmarks"][bench]
        results.append({"arm": arm, "benchmark": bench, "problems": r["problems_scored"],
                        "pass@1": r.get("pass@1", 0.0), "interval": (r.get("intervals") or {}).get("pass@1"),
                        "eval_tokens_per_s": summary.get("generation_tokens_per_s")})  # fmt: skip
    return results


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (the sandboxed programs)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def last_loss(summary: dict) -> str:
    """The last logged training loss and its step (a summary's final_train_loss is the last *logged* one)."""
    logged = [e for e in summary.get("log_history") or [] if "loss" in e]
    return f"{logged[-1]['loss']:.3f} @{logged[-1]['step']}" if logged else "-"


def report(args: argparse.Namespace, results: list[dict], train: dict, sizes: dict, timing: dict) -> str:
    benches = list(dict.fromkeys(r["benchmark"] for r in results))
    rows = [(r["arm"], r["benchmark"], r["problems"], f"{r['pass@1']:.3f}",
             f"[{r['interval'][0]:.3f}, {r['interval'][1]:.3f}]" if r["interval"] else "-",
             last_loss(train.get(r["arm"], {})),
             r["eval_tokens_per_s"] or "-") for r in results]  # fmt: skip
    headers = ("arm", "benchmark", "problems", "pass@1", "95% bootstrap", "train loss @step", "gen tok/s (last call)")
    by = {(r["arm"], r["benchmark"]): r for r in results}
    pairs = (("base", "curated"), ("base", "random"), ("random", "curated"))
    lines = [f"{b} vs {a} on {bench}: {verdict(by[a, bench], by[b, bench])}" for a, b in pairs for bench in benches]
    runs = timing["invocations"]
    loads = ", ".join(f"{r['load'][0]}-{r['load'][1]}" for r in runs)
    text = "\n".join([
        format_table(rows, headers), "", *lines, "",
        f"recipe {args.recipe}: {CURATED_MEANS[args.recipe]}",
        f"rows per arm: {sizes}; base {args.base}; LoRA steps {args.max_steps} x batch {args.batch_size}; "
        f"seed {args.seed}; problems per benchmark: {f'first {args.limit}' if args.limit else 'all'}; greedy, "
        f"{args.eval_max_tokens} new tokens, prompt style {args.prompt_style}",
        f"wall time {sum(r['wall_s'] for r in runs):.0f} s, CPU time (this process and its children) "
        f"{sum(r['cpu_s'] for r in runs):.0f} s over {len(runs)} invocation(s) of this output folder; 1-min load "
        f"average at start-end of each: {loads} on {os.cpu_count()} cores",
    ])  # fmt: skip
    if args.smoke:
        text += "\nSMOKE RUN: it shows the script works end to end; it says nothing about data quality."
    return text


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    benches = [b for b in args.benchmarks.replace(",", " ").split() if b]
    t0, c0, load0 = time.perf_counter(), cpu_seconds(), os.getloadavg()

    sets = (rows_from_seeds if args.recipe == "seeds" else rows_from_generator)(args, out)
    sizes = {arm: len(read_records(path)) for arm, path in sets.items()}
    if len(set(sizes.values())) != 1 or 0 in sizes.values():
        raise SystemExit(f"arms differ in size or are empty: {sizes}")
    models, train = {"base": args.base}, {}
    for arm, path in sets.items():
        train[arm] = finetune(args, arm, path, out)
        models[arm] = str(out / f"ft-{arm}" / "merged")
    results = [r for arm, model in models.items() for r in evaluate(args, arm, model, benches, out)]

    this = {"wall_s": round(time.perf_counter() - t0, 1), "cpu_s": round(cpu_seconds() - c0, 1),
            "load": [f"{x:.1f}" for x in (load0[0], os.getloadavg()[0])]}  # fmt: skip
    # Each invocation appends its own time, so a resumed run reports what all of them cost together.
    with (out / "timings.jsonl").open("a") as f:
        f.write(json.dumps(this) + "\n")
    timing = {"invocations": read_records(out / "timings.jsonl")}
    text = report(args, results, train, sizes, timing)
    print(text)
    (out / "ablation.md").write_text("```\n" + text + "\n```\n")
    (out / "ablation.json").write_text(json.dumps({"args": vars(args), "results": results, "rows_per_arm": sizes,
                                                   "curated_means": CURATED_MEANS[args.recipe], "timing": timing,
                                                   "train": {a: {k: v for k, v in s.items() if k != "log_history"}
                                                             for a, s in train.items()}}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
