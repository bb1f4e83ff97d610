"""Data-quality ablation: does a curated, execution-validated dataset beat a random one of the same size?

    nice .venv/bin/python bench/ablation.py --quick --data-dir ../shared/data -o runs/ablation-quick
    nice .venv/bin/python bench/ablation.py --n 256 --max-steps 200 --data-dir DATA -o runs/ablation

Arms (same base model, same generator, same fine-tune and eval settings, fixed seeds):
- base: the base model, no fine-tuning;
- curated: k-center coreset of the mined seeds -> generate with --validate (answers executed against seed tests);
- random: a random selection of the same number of seeds -> the same generator without validation.
The two instruction sets are cut to the same size (seeded) before fine-tuning. Each arm is evaluated greedily on
HumanEval (and MBPP when --data-dir has it); pass@1 is reported with a 95 % Wilson interval over problems, plus
training and generation tokens/s. Every stage is resumable, so a rerun of the same command continues.
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
from codecurate.eval.compare import format_table
from codecurate.eval.passk import wilson_interval
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
            "seed": args.seed, "max_tokens": args.gen_max_tokens, "decontaminate_with": ["humaneval"],
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes: minutes on a laptop, numbers are noise")
    p.add_argument("--seeds", help="seed records (default: mine the stdlib)")
    p.add_argument("--data-dir", help="benchmark files; MBPP is evaluated only when given")
    p.add_argument("--base", default="smollm2", help="model to fine-tune (and the 'base' arm)")
    p.add_argument("--generator", default="smollm2", help="instruction generator model")
    p.add_argument("--pool", type=int, default=2000, help="seeds mined per language")
    p.add_argument("--n", type=int, default=256, help="seeds selected per arm")
    p.add_argument("--max-steps", type=int, default=200)
    p.add_argument("--limit", type=int, default=None, help="problems per benchmark (default: all)")
    p.add_argument("--eval-max-tokens", type=int, default=384)
    p.add_argument("--gen-max-tokens", type=int, default=160)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", default="runs/ablation")
    args = p.parse_args(argv)
    if args.quick:
        args.pool, args.n, args.max_steps = 300, 16, 10
        args.limit, args.eval_max_tokens, args.gen_max_tokens = args.limit or 10, 192, 128
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    benches = ["humaneval"] + (["mbpp"] if args.data_dir else [])

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

    rows = []
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
            passed = round(r.get("pass@1", 0.0) * r["problems_scored"])
            lo, hi = wilson_interval(passed, r["problems_scored"])
            rows.append((arm, bench, r["problems_scored"], f"{r.get('pass@1', 0.0):.3f}", f"[{lo:.3f}, {hi:.3f}]",
                         train.get(arm, {}).get("train_tokens_per_s", "-"),
                         summary.get("generation_tokens_per_s", "-")))  # fmt: skip
    headers = ("arm", "benchmark", "problems", "pass@1", "95% Wilson", "train tok/s", "eval gen tok/s")
    print(format_table(rows, headers))
    base = {b: float(r[3]) for r in rows if r[0] == "base" for b in [r[1]]}
    for arm in ("curated", "random"):
        for r in (r for r in rows if r[0] == arm):
            print(f"{arm} vs base on {r[1]}: {float(r[3]) - base[r[1]]:+.3f} pass@1")
    size = len(read_records(sets["curated"]))
    print(f"total wall time {time.perf_counter() - t0:.0f} s; instructions per arm: {size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
