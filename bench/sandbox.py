"""Sandbox throughput on tiny programs, and what each layer of isolation costs.

    nice .venv/bin/python bench/sandbox.py --runs 200 --workers 2

Rows (each the same tiny passing Python program, run ``--runs`` times on ``--workers`` threads):
  plain subprocess    one unlimited `python main.py` per run in a temp dir: the baseline
  plain, python -S    the same without site.py (the sandbox's Python adapter skips it too): the floor
  rlimits mode        our sandbox without namespaces: rlimits, scrubbed env, temp dir, socket guard
  namespaces, net on  + pid/mount namespaces, private /tmp, per-run uid (network=True skips the net namespace)
  full sandbox        everything on: the default
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from codecurate.execute import sandbox
from codecurate.execute.sandbox import Limits, execute_many

PROGRAM = "def add(a, b):\n    return a + b\n\nassert add(2, 3) == 5\n"


def plain(program: str, flags: tuple[str, ...] = ()) -> None:
    with tempfile.TemporaryDirectory() as d:
        Path(d, "main.py").write_text(program)
        subprocess.run([sys.executable, *flags, "main.py"], cwd=d, capture_output=True, check=True)


def timed(fn, runs: int, workers: int) -> float:
    start = time.perf_counter()
    fn(runs, workers)
    return runs / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    jobs = [(PROGRAM, "python")] * args.runs

    def run_plain(n: int, w: int) -> None:
        with ThreadPoolExecutor(w) as pool:
            list(pool.map(plain, [PROGRAM] * n))

    def run_plain_s(n: int, w: int) -> None:
        with ThreadPoolExecutor(w) as pool:
            list(pool.map(lambda p: plain(p, ("-S",)), [PROGRAM] * n))

    def run_sandbox(network: bool, mode: str):
        def go(n: int, w: int) -> None:
            sandbox.isolation = lambda: mode  # the probe's answer, forced for this row
            results = execute_many(jobs[:n], Limits(network=network), w)
            assert all(r.status == "pass" for r in results), {r.status + r.stderr[-200:] for r in results}

        return go

    real = sandbox.isolation()
    rows = [("plain subprocess", run_plain), ("plain, python -S", run_plain_s)]
    rows.append(("rlimits mode", run_sandbox(False, "rlimits")))
    if real == "namespace":
        rows += [("namespaces, net on", run_sandbox(True, "namespace")), ("full sandbox", run_sandbox(False, real))]
    timed(run_plain, 10, args.workers)  # warm the page cache
    print(f"{args.runs} runs, {args.workers} workers, {os.cpu_count()} cores, isolation probe: {real}")
    print(f"{'mode':<22}{'runs/s':>8}{'ms/run':>8}{'vs plain':>10}")
    base = None
    for name, fn in rows:
        rate = timed(fn, args.runs, args.workers)
        base = base or rate
        print(f"{name:<22}{rate:8.1f}{1000 * args.workers / rate:8.1f}{rate / base:10.2f}x")


if __name__ == "__main__":
    main()
