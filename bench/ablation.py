"""Data-quality ablation: does a curated, execution-validated dataset beat a random one of the same size?

    nice .venv/bin/python bench/ablation.py --smoke -o runs/ablation-smoke   # minutes: checks it runs, nothing more
    nice .venv/bin/python bench/ablation.py --quick -o runs/ablation-quick   # tens of minutes on 2 cores
    nice .venv/bin/python bench/ablation.py -o runs/ablation                 # the CPU size (see below)

Arms (same base model, same generator, same fine-tune and eval settings, fixed seeds):
- base: the base model, no fine-tuning;
- curated: k-center coreset of the mined seeds -> generate with --validate (answers executed against seed tests);
- random: a random selection of the same number of seeds -> the same generator without validation.
The two instruction sets are cut to the same size (seeded) before fine-tuning, and both arms train for the same
steps with the same seed. Each arm is evaluated greedily on HumanEval and MBPP (sanitized; both bundled, so offline);
pass@1 is reported with its 95 % bootstrap interval over problems (the eval summary's), plus training and generation
tokens/s, and every comparison says "no measurable difference" when the two intervals overlap. The table also goes
to <out>/ablation.md and ablation.json. Every stage is resumable, so a rerun of the same command continues.

The defaults (64 seeds per arm, 50 LoRA steps, all 164 HumanEval and 257 MBPP problems, 256 new tokens) are sized
to finish in under an hour on 2 idle cores, by an estimate from the throughputs in bench/RESULTS.md (generate
loop ~20 examples/min, batched decoding ~150 tok/s, 2-7 s per LoRA step); that size has not been timed.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time
from pathlib import Path

from codecurate.config import from_dict
from codecurate.eval.compare import NO_DIFFERENCE, format_table
from codecurate.eval.passk import overlap
from codecurate.io import read_records, write_jsonl


def stage(module: str, cls: str, values: dict) -> dict:
    """Run one stage's `run` with a config built like the CLI builds it."""
    import importlib

    mod = importlib.import_module(module)
    return mod.run(from_dict(getattr(mod, cls), values, source=f"ablation:{cls}"))


def build_data(args: argparse.Namespace, out: Path) -> dict[str, Path]:
    seeds = Path(args.seeds) if args.seeds else out / "seeds.jsonl"
    if not seeds.exists():
        stage("codecurate.curate.mine", "MineConfig", {"output": str(seeds), "languages": ["python"],
                                                       "max_per_language": args.pool, "seed": args.seed})  # fmt: skip
    sets = {}
    for arm, method, validate in (("curated", "kcenter", True), ("random", "random", False)):
        coreset = out / f"{arm}.coreset.jsonl"
        if not coreset.exists():
            values = {"input": str(seeds), "output": str(coreset), "n": args.n, "method": method, "seed": args.seed}
            stage("codecurate.curate.coreset", "CurateConfig", values)
        instructions = out / f"{arm}.instructions.jsonl"
        stage("codecurate.generate.loop", "GenerateConfig", {
            "input": str(coreset), "output": str(instructions), "model": args.generator, "validate": validate,
            "seed": args.seed, "max_tokens": args.gen_max_tokens,
        })  # fmt: skip
        sets[arm] = instructions
    # Equal size: the comparison is about which examples, not how many.
    records = {arm: read_records(path) for arm, path in sets.items()}
    size = min(len(r) for r in records.values())
    if size == 0:
        raise SystemExit("a generator accepted no examples for one arm; use a larger --n or a stronger --generator")
    for arm, recs in records.items():
        random.Random(args.seed).shuffle(recs)
        sets[arm] = out / f"{arm}.train.jsonl"
        write_jsonl(sets[arm], recs[:size])
    return sets


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--smoke", action="store_true", help="smallest size: shows the script runs end to end")
    size.add_argument("--quick", action="store_true", help="tiny sizes: tens of minutes on 2 cores, numbers are noise")
    p.add_argument("--seeds", help="seed records (default: mine the stdlib)")
    p.add_argument("--data-dir", help="benchmark files instead of the bundled ones")
    p.add_argument("--benchmarks", default="humaneval,mbpp", help="comma-separated eval benchmarks")
    p.add_argument("--base", default="smollm2", help="model to fine-tune (and the 'base' arm)")
    p.add_argument("--generator", default="smollm2", help="instruction generator model")
    p.add_argument("--pool", type=int, default=2000, help="seeds mined per language")
    p.add_argument("--n", type=int, default=64, help="seeds selected per arm")
    p.add_argument("--max-steps", type=int, default=50, help="LoRA steps, the same for both arms")
    p.add_argument("--limit", type=int, default=None, help="problems per benchmark (default: all)")
    p.add_argument("--eval-max-tokens", type=int, default=256)
    p.add_argument("--gen-max-tokens", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", default="runs/ablation")
    args = p.parse_args(argv)
    if args.smoke:
        args.pool, args.n, args.max_steps = 200, 6, 2
        args.limit, args.eval_max_tokens, args.gen_max_tokens = args.limit or 3, 96, 96
    if args.quick:
        args.pool, args.n, args.max_steps = 300, 16, 10
        args.limit, args.eval_max_tokens, args.gen_max_tokens = args.limit or 10, 192, 128
    return args


def verdict(a: dict, b: dict) -> str:
    """b - a in pass@1, and whether their 95 % intervals tell them apart."""
    text = f"{b['pass@1'] - a['pass@1']:+.3f} pass@1"
    same = overlap(a["interval"], b["interval"])
    return text + (" (no interval)" if same is None else f" ({NO_DIFFERENCE})" if same else " (intervals apart)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    benches = [b for b in args.benchmarks.replace(",", " ").split() if b]

    t0 = time.perf_counter()
    sets = build_data(args, out)
    models = {"base": args.base}
    train = {}
    for arm, path in sets.items():
        ft_dir = out / f"ft-{arm}"
        if not (ft_dir / "training_summary.json").exists():
            stage("codecurate.finetune.train", "FinetuneConfig", {
                "input": str(path), "model": args.base, "output": str(ft_dir), "max_steps": args.max_steps,
                "seed": args.seed, "merge": True, "max_length": 1024, "resume": any(ft_dir.glob("checkpoint-*")),
                "val_fraction": 0.1 if len(read_records(path)) >= 20 else 0.0,  # tiny quick sets: no hold-out
            })  # fmt: skip
        train[arm] = json.loads((ft_dir / "training_summary.json").read_text())
        models[arm] = str(ft_dir / "merged")

    results = []
    for arm, model in models.items():
        eval_dir = out / f"eval-{arm}"
        stage("codecurate.eval.harness", "EvalConfig", {
            "model": model, "benchmarks": benches, "output": str(eval_dir), "data_dir": args.data_dir,
            "limit": args.limit, "n": 1, "temperature": 0.0, "seed": args.seed, "ks": [1],
            "max_tokens": args.eval_max_tokens,
        })  # fmt: skip
        summary = json.loads((eval_dir / "summary.json").read_text())
        for bench in benches:
            r = summary["benchmarks"][bench]
            results.append({
                "arm": arm, "benchmark": bench, "problems": r["problems_scored"], "pass@1": r.get("pass@1", 0.0),
                "interval": (r.get("intervals") or {}).get("pass@1"),
                "train_tokens_per_s": train.get(arm, {}).get("train_tokens_per_s"),
                "eval_tokens_per_s": summary.get("generation_tokens_per_s"),
            })  # fmt: skip
    rows = [(r["arm"], r["benchmark"], r["problems"], f"{r['pass@1']:.3f}",
             f"[{r['interval'][0]:.3f}, {r['interval'][1]:.3f}]" if r["interval"] else "-",
             r["train_tokens_per_s"] or "-", r["eval_tokens_per_s"] or "-") for r in results]  # fmt: skip
    headers = ("arm", "benchmark", "problems", "pass@1", "95% bootstrap", "train tok/s", "eval gen tok/s")
    by = {(r["arm"], r["benchmark"]): r for r in results}
    pairs = (("base", "curated"), ("base", "random"), ("random", "curated"))
    lines = [f"{b} vs {a} on {bench}: {verdict(by[a, bench], by[b, bench])}" for a, b in pairs for bench in benches]
    size = len(read_records(sets["curated"]))
    footer = (
        f"instructions per arm: {size}; LoRA steps: {args.max_steps}; seed {args.seed}; "
        f"problems per benchmark: {args.limit or 'all'}; total wall time {time.perf_counter() - t0:.0f} s"
    )
    text = "\n".join([format_table(rows, headers), "", *lines, footer])
    if args.smoke or args.quick:
        text += "\nSMALL RUN: it shows the script works end to end; it says nothing about data quality."
    print(text)
    (out / "ablation.md").write_text("```\n" + text + "\n```\n")
    (out / "ablation.json").write_text(json.dumps({"args": vars(args), "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
