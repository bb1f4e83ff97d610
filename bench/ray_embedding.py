"""Embedding throughput: ``--executor local`` against ``--executor ray`` on this machine, same encoder and texts.

    nice .venv/bin/python bench/ray_embedding.py               # 2,000 standard-library functions
    .venv/bin/python bench/ray_embedding.py --n 300            # quick

Baseline: ``curate.embed.embed_texts`` (one process, torch on every core, cache off), model load included, as
``codecurate curate`` runs it. Ray: ``curate.embed_ray.embed_shards_ray`` on a local Ray instance with one CPU per
encoder actor, into a fresh shard folder each time. Rows separate what Ray adds: starting the instance
(``ray.init``), and per job starting actors that each load the model. On a machine this small Ray can only lose
(the same cores, plus its own processes); the point is to measure by how much. Vectors are checked against the
baseline (max abs difference).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from embedding import stdlib_functions  # noqa: E402  (bench/ is not a package)

from codecurate.curate.embed import embed_texts, encode, load_encoder, resolve_backend  # noqa: E402
from codecurate.curate.embed_ray import embed_shards_ray  # noqa: E402
from codecurate.raycluster import connect  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="texts to embed")
    ap.add_argument("--shard-rows", type=int, default=250, help="rows per Ray shard (one actor call each)")
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 2, help="CPUs given to the local Ray instance")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    texts = stdlib_functions(args.n)
    backend = resolve_backend("auto", "cpu")
    rows: list[tuple[str, float, int]] = []

    t = time.perf_counter()
    ref, _ = embed_texts(texts, backend=backend, device="cpu", use_cache=False)
    rows.append(("local: embed_texts (model load + encode)", time.perf_counter() - t, len(texts)))
    model = load_encoder("minilm", backend, "cpu")
    encode(model, texts[:32])  # warm-up
    t = time.perf_counter()
    encode(model, texts)
    rows.append(("local: encode only (model loaded)", time.perf_counter() - t, len(texts)))
    del model

    t = time.perf_counter()
    connect(num_cpus=args.cpus)
    startup = time.perf_counter() - t
    rows.append((f"ray: ray.init, local instance, {args.cpus} CPUs (startup only)", startup, 0))
    diffs = []
    for label, workers in (("2 actors", 2), ("1 actor", 1), ("2 actors, again", 2)):
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            X, _ = embed_shards_ray(texts, Path(tmp) / "emb", backend=backend, device="cpu",
                                    shard_rows=args.shard_rows, workers=workers)  # fmt: skip
            wall = time.perf_counter() - t
            diffs.append(float(np.abs(np.asarray(X) - ref).max()))
        rows.append((f"ray: embed_shards_ray, {label} (actor start + model load + encode + write)", wall, len(texts)))
    first_ray = rows[3][1]
    rows.append(("ray: first job + ray.init (a cold `curate --executor ray`)", first_ray + startup, len(texts)))

    base = rows[0][1]
    print(f"\n{len(texts)} stdlib functions, encoder minilm, backend {backend}, {os.cpu_count()} cores, shards of "
          f"{args.shard_rows}; max |ray - local| = {max(diffs):.2e}\n")  # fmt: skip
    print("| run | wall s | texts/s | time vs local embed_texts |")
    print("|---|---:|---:|---:|")
    for name, wall, n in rows:
        rate = f"{n / wall:.1f}" if n else "-"
        print(f"| {name} | {wall:.1f} | {rate} | {wall / base:.2f}x |")


if __name__ == "__main__":
    main()
