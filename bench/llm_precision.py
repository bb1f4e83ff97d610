"""bf16 vs fp32 for the embedded SmolLM2 on the CPU: speed, and how often greedy replies stay the same.

    .venv/bin/python bench/llm_precision.py --seeds 24

Prompts are the generate loop's own (captured from a run with a stand-in backend), replies are greedy with the
stage's default budget, every request is decoded with the same batch size in both precisions. Prints a table:
wall time, prompt and completion tokens per second, the speed-up over fp32 measured in the same run, and the
share of replies identical to fp32 (plus the mean token at which the others first differ). On a CPU without
native bf16 (no AVX512-BF16/AMX) bf16 is slower and `dtype: auto` keeps fp32.
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


def loop_prompts(seed_file: str, n: int) -> list[list[dict]]:
    """The generator prompts the loop builds for the first `n` Python/JavaScript seeds."""
    from codecurate.generate.loop import GenerateConfig, run
    from codecurate.llm.base import FunctionBackend

    rows = [json.loads(x) for x in Path(seed_file).read_text().splitlines() if x.strip()]
    rows = [r for r in rows if r["language"] in ("python", "javascript")][:n]
    captured: list[list[dict]] = []
    with tempfile.TemporaryDirectory() as tmp:
        seeds = Path(tmp) / "seeds.jsonl"
        seeds.write_text("".join(json.dumps(r) + "\n" for r in rows))
        cfg = GenerateConfig(str(seeds), f"{tmp}/i.jsonl", discriminator="none", max_attempts=1, decontaminate_with=[])
        run(cfg, FunctionBackend(lambda m: captured.append(m) or "INSTRUCTION: x", "capture"))
    return captured


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed-file", default=str(DEFAULT_SEEDS))
    ap.add_argument("--seeds", type=int, default=24)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args()

    from codecurate.llm import load_backend
    from codecurate.llm.base import Request, SamplingParams
    from codecurate.llm.hf import common_prefix

    prompts = loop_prompts(args.seed_file, args.seeds)
    reqs = [Request(m, SamplingParams(max_tokens=args.max_tokens)) for m in prompts]
    results = {}
    for dtype in ("float32", "bfloat16"):
        backend = load_backend("transformers", "smollm2", batch_size=args.batch_size, dtype=dtype)
        backend.complete(reqs[:2])  # warm-up
        start = time.perf_counter()
        out = backend.complete(reqs)
        results[dtype] = (time.perf_counter() - start, out, backend.tokenizer)

    base_wall, base, tok = results["float32"]
    print(f"\n{len(reqs)} loop prompts, greedy, max_tokens {args.max_tokens}, batch {args.batch_size}, "
          f"torch threads {__import__('torch').get_num_threads()}")  # fmt: skip
    print("| dtype | wall s | prompt tok/s | completion tok/s | speed-up vs fp32 | replies identical to fp32 |")
    print("|---|---:|---:|---:|---:|---:|")
    for dtype, (wall, out, _) in results.items():
        prompt = sum(r.prompt_tokens for r in out)
        completion = sum(c.completion_tokens for r in out for c in r.completions)
        same = sum(a.text == b.text for a, b in zip(out, base, strict=True))
        firsts = []
        for a, b in zip(out, base, strict=True):
            if a.text != b.text:
                ta, tb = tok(a.text)["input_ids"], tok(b.text)["input_ids"]
                firsts.append(common_prefix(ta, tb))
        where = f" (others differ from token {sum(firsts) / len(firsts):.0f} on average)" if firsts else ""
        print(f"| {dtype} | {wall:.1f} | {prompt / wall:.0f} | {completion / wall:.1f} | {base_wall / wall:.2f}x | "
              f"{same}/{len(out)}{where} |")  # fmt: skip


if __name__ == "__main__":
    main()
