"""Generation throughput on the embedded SmolLM2 (CPU): batched vs one request at a time, same seeds, greedy.

    nice .venv/bin/python bench/generate.py --seeds 8 --max-tokens 64

Prints a table: wall time, judged examples per minute, completion tokens per second (generator and
discriminator together), and the speed-up of each batch size over batch size 1 measured in the same run; then
acceptance per task for the largest batch. Seeds: the Python/JavaScript functions of the tiny CodeXGLUE sample in
../shared/data (or --seed-file).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SEEDS = REPO.parent / "shared" / "data" / "codexglue_code_to_text_6lang_tiny" / "all_6lang.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed-file", default=str(DEFAULT_SEEDS))
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--disc-max-tokens", type=int, default=24)
    args = ap.parse_args()

    from codecurate.generate.loop import GenerateConfig, run
    from codecurate.llm import load_backend

    rows = [json.loads(x) for x in Path(args.seed_file).read_text().splitlines() if x.strip()]
    rows = [r for r in rows if r["language"] in ("python", "javascript") and len(r["code"]) < 1200][: args.seeds]
    backend = load_backend("transformers", "smollm2", batch_size=max(args.batch_sizes))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        seeds = Path(tmp) / "seeds.jsonl"
        seeds.write_text("".join(json.dumps(r) + "\n" for r in rows))
        for bs in args.batch_sizes:
            backend.batch_size = bs
            cfg = GenerateConfig(
                str(seeds), f"{tmp}/bs{bs}/inst.jsonl", batch_size=bs, max_tokens=args.max_tokens,
                disc_max_tokens=args.disc_max_tokens, temperature=0.0, max_attempts=1, decontaminate_with=[],
            )  # fmt: skip
            start = time.perf_counter()
            run(cfg, backend)
            wall = time.perf_counter() - start
            report = json.loads(Path(f"{tmp}/bs{bs}/inst.report.json").read_text())
            results.append((bs, wall, report))

    base_wall = results[0][1]
    print(f"\n{len(rows)} seeds, max_tokens {args.max_tokens}+{args.disc_max_tokens}, greedy, "
          f"torch threads {__import__('torch').get_num_threads()}, {os.cpu_count()} CPUs")  # fmt: skip
    print("| batch | wall s | examples/min | completion tok/s | accepted | speed-up vs batch 1 |")
    print("|---:|---:|---:|---:|---:|---:|")
    for bs, wall, rep in results:
        c, tp = rep["counts"], rep["throughput"]
        print(f"| {bs} | {wall:.1f} | {c['requested'] / wall * 60:.1f} | {tp['completion_tokens_per_s']:.1f} | "
              f"{c['accepted']}/{c['requested']} | {base_wall / wall:.2f}x |")  # fmt: skip
    rep = results[-1][2]
    print(f"\nacceptance per task (batch {results[-1][0]}):")
    print("| task | requested | parse failed | rule rejected | disc rejected | accepted |")
    print("|---|---:|---:|---:|---:|---:|")
    for task, c in rep["per_task"].items():
        print(f"| {task} | {c['requested']} | {c['parse_failed']} | {c['rule_rejected']} | {c['disc_rejected']} | "
              f"{c['accepted']} |")  # fmt: skip
    print("top rejection reasons:", dict(list(rep["rejection_reasons"].items())[:6]))


if __name__ == "__main__":
    main()
