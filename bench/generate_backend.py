"""Raw batching speed of the transformers backend on the embedded SmolLM2: the same 16 short chat requests sent
one at a time and as one batch, greedy, 64 new tokens, with and without a stop string.

    .venv/bin/python bench/generate_backend.py

This isolates the backend from the generate loop: the loop's own speed-up (bench/generate.py) is lower because its
prompts are long (few-shot examples, seed code) and the discriminator's replies are short, so prefill dominates.
"""

import time

from codecurate.llm import load_backend
from codecurate.llm.base import Request, SamplingParams


def main() -> None:
    backend = load_backend("transformers", "smollm2", batch_size=16)
    messages = [
        [{"role": "user", "content": f"Write a Python function number {i} that adds two numbers and explain it."}]
        for i in range(16)
    ]
    print("| stop | batch | wall s | completion tok/s | speed-up vs batch 1 |")
    print("|---|---:|---:|---:|---:|")
    for stop in ([], ["\n\n\n"]):
        base = None
        for batch in (1, 16):
            backend.batch_size = batch
            start = time.perf_counter()
            out = backend.complete([Request(m, SamplingParams(max_tokens=64, stop=stop)) for m in messages])
            wall = time.perf_counter() - start
            rate = sum(r.completions[0].completion_tokens for r in out) / wall
            base = base or rate
            print(f"| {stop!r} | {batch} | {wall:.1f} | {rate:.1f} | {rate / base:.2f}x |")


if __name__ == "__main__":
    main()
