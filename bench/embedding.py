"""Embedding throughput on CPU: our encoder path against plain ``SentenceTransformer.encode`` defaults.

    nice python bench/embedding.py            # 5,000 standard-library functions
    python bench/embedding.py --quick         # 500

Baseline: ``SentenceTransformer(all-MiniLM-L6-v2).encode(texts)`` with its defaults (fp32, batch 32). Ours:
``codecurate.curate.embed`` with each backend, the cache off. Agreement with the baseline vectors: top-1 (each
snippet's nearest other snippet in the pool is the same) and top-10 overlap. Both paths are warmed up first.
"""

from __future__ import annotations

import argparse
import ast
import os
import sysconfig
import time
from pathlib import Path

import numpy as np

from codecurate.curate.embed import encode, load_encoder
from codecurate.models import resolve_encoder


def stdlib_functions(limit: int) -> list[str]:
    """Source of up to `limit` function definitions from the running Python's stdlib, in sorted file order."""
    out: list[str] = []
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py")):
        if "test" in path.parts or "site-packages" in path.parts:
            continue
        try:
            src = path.read_text(encoding="utf-8")
            tree = ast.parse(src)
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                seg = ast.get_source_segment(src, node)
                if seg:
                    out.append(seg)
                    if len(out) == limit:
                        return out
    return out


def agreement(a: np.ndarray, b: np.ndarray, k: int = 10) -> tuple[float, float]:
    """(top-1 agreement, mean top-k overlap) of nearest neighbours within the pool, self excluded."""
    top1, overlap = 0, 0.0
    for s in range(0, len(a), 1024):
        sa, sb = a[s : s + 1024] @ a.T, b[s : s + 1024] @ b.T
        rows = np.arange(len(sa))
        sa[rows, rows + s] = sb[rows, rows + s] = -np.inf
        ka, kb = np.argsort(-sa, axis=1)[:, :k], np.argsort(-sb, axis=1)[:, :k]
        top1 += int((ka[:, 0] == kb[:, 0]).sum())
        overlap += sum(len(set(x) & set(y)) / k for x, y in zip(ka, kb, strict=True))
    return top1 / len(a), overlap / len(a)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="500 snippets")
    ap.add_argument("-n", type=int, default=5000, help="number of snippets")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    texts = stdlib_functions(500 if args.quick else args.n)
    print(f"{len(texts)} snippets, mean {np.mean([len(t) for t in texts]):.0f} chars, torch threads "
          f"{torch.get_num_threads()}", flush=True)  # fmt: skip
    plain = SentenceTransformer(resolve_encoder("minilm"), device="cpu")
    plain.encode(texts[:64])
    start = time.perf_counter()
    base = plain.encode(texts, normalize_embeddings=True)
    base_s = time.perf_counter() - start
    print(f"  plain encode: {base_s:.1f}s", flush=True)
    rows = [("plain SentenceTransformer.encode (fp32, batch 32)", base_s, 1.0, 1.0)]
    for backend, batch in (("fp32", 32), ("bf16", 32), ("bf16", 64)):
        model = load_encoder("minilm", backend, "cpu")
        encode(model, texts[:64], batch)
        start = time.perf_counter()
        ours = np.concatenate([encode(model, texts[s : s + 2048], batch) for s in range(0, len(texts), 2048)])
        secs = time.perf_counter() - start
        print(f"  ours {backend} batch {batch}: {secs:.1f}s", flush=True)
        rows.append((f"ours, --encoder-backend {backend}, batch {batch}", secs, *agreement(base, ours)))
    print(f"\n### Embedding throughput, all-MiniLM-L6-v2 on CPU, {len(texts):,} stdlib functions\n")
    print("| path | seconds | snippets/s | speed-up | top-1 NN agreement | top-10 overlap |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, secs, t1, t10 in rows:
        print(f"| {name} | {secs:.1f} | {len(texts) / secs:.0f} | {base_s / secs:.2f}x | {t1:.1%} | {t10:.1%} |")


if __name__ == "__main__":
    main()
