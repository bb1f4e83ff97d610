"""How many mined seeds run alone, measured by running them in the sandbox; and why the others do not.

    nice .venv/bin/python bench/seeds.py                       # the stdlib and the CodeSearchNet sample
    nice .venv/bin/python bench/seeds.py --coreset runs/demo/coreset.jsonl --llm smollm2   # + seed tests

"Runs alone" is ``codecurate.seedprobe.check_runnable``: the seed's program (its module context, the function,
the method shim) defines without error in the sandbox, every module-level name the function reads exists and
the name is callable, behind the harness's per-run token. Baseline (same run, same records): the gate used
before module context, a function whose code alone has no free name (``seedtests.free_names(code) == set()``).

The CodeSearchNet sample is ``data/codesearchnet_tiny`` (else ``../shared/data/codexglue_code_to_text_6lang_tiny``),
mined with every length filter off, so every Python record counts.

``--coreset FILE`` adds the seed-test figure: how many seeds of that file (e.g. the demo's coreset) get tests at
>= 90% line coverage, with a scripted test writer (``doctest``: turns the docstring's ``>>>`` examples into
assertions, no model) and, with ``--llm NAME``, a real model through the transformers backend.
"""

from __future__ import annotations

import argparse
import doctest
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")

from codecurate.curate.mine import MineConfig, run  # noqa: E402
from codecurate.curate.mine_python import reason_class  # noqa: E402
from codecurate.generate.seedtests import free_names, function_name  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CSN = [ROOT / "data" / "codesearchnet_tiny", ROOT.parent / "shared" / "data" / "codexglue_code_to_text_6lang_tiny"]


def mine(src: list[str], out: Path, **kw: object) -> tuple[float, list[dict]]:
    start = time.perf_counter()
    run(MineConfig(src=src, output=str(out), languages=["python"], **kw))
    secs = time.perf_counter() - start
    return secs, [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def table(name: str, records: list[dict], secs: float) -> list[str]:
    n = len(records)
    before = sum(1 for r in records if free_names(r["code"]) == set())
    now = sum(1 for r in records if r.get("runnable") is True)
    reasons = Counter(reason_class(r.get("runnable_reason", "")) for r in records if r.get("runnable") is False)
    rows = [
        f"| {name} | {n} | {before} ({before / max(n, 1):.1%}) | {now} ({now / max(n, 1):.1%}) | {secs:.1f} |",
    ]
    rows += [f"|   not runnable: {why} | {count} | | | |" for why, count in reasons.most_common(12)]
    return rows


def doctest_writer(messages: list[dict]) -> str:
    """A scripted test writer: the ``>>>`` examples of the prompt's docstring as ``assert call == value``."""
    prompt = messages[0]["content"]
    code = prompt.split("```python\n", 1)[-1].rsplit("```", 1)[0]
    out = []
    for ex in doctest.DocTestParser().get_examples(code):
        if ex.want.strip() and "\n" not in ex.source.strip() and "\n" not in ex.want.strip():
            out.append(f"assert {ex.source.strip()} == {ex.want.strip()}")
    return "```python\n" + "\n".join(out) + "\n```"


def seed_test_rows(coreset: Path, llm: str | None, samples: int) -> list[str]:
    from codecurate.generate.seedtests import SeedTestConfig, add_seed_tests
    from codecurate.llm.base import FunctionBackend

    seeds = [json.loads(line) for line in coreset.read_text(encoding="utf-8").splitlines()]
    seeds = [s for s in seeds if function_name(s)]
    backends = [("scripted doctest writer", FunctionBackend(doctest_writer), 1)]
    if llm:
        from codecurate.llm import load_backend

        backends.append((f"{llm} ({samples} sample(s))", load_backend("transformers", llm), samples))
    rows = [f"seeds: {coreset} ({len(seeds)}; runnable {sum(1 for s in seeds if s.get('runnable') is True)})",
            "| test writer | seeds | runnable | with a passing assertion | tests at >= 90% coverage | seconds |",
            "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for label, backend, n in backends:
        start = time.perf_counter()
        out, stats = add_seed_tests(seeds, backend, SeedTestConfig(samples=n, max_tokens=256))
        secs = time.perf_counter() - start
        passing = sum(1 for s in out if s["test_coverage"] > 0)
        rows.append(f"| {label} | {len(seeds)} | {len(seeds) - stats.get('skipped_not_runnable', 0)} | {passing} | "
                    f"{stats.get('with_tests', 0)} | {secs:.0f} |")  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stdlib", default="", help="tree to mine (default: the running Python's standard library)")
    ap.add_argument("--coreset", type=Path, help="seed file for the seed-test figure (e.g. runs/demo/coreset.jsonl)")
    ap.add_argument("--llm", help="also write seed tests with this model (transformers backend), e.g. smollm2")
    ap.add_argument("--samples", type=int, default=1, help="samples per seed for --llm")
    ap.add_argument("--tests-only", action="store_true", help="with --coreset: only the seed-test figure")
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}; load average {os.getloadavg()[0]:.1f}")
    if args.coreset and args.tests_only:
        print("\n".join(seed_test_rows(args.coreset, args.llm, args.samples)))
        return
    rows = ["| corpus | functions kept | alone without context (old gate) | run alone (probe) | seconds |",
            "|---|---:|---:|---:|---:|"]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        base, _ = mine([args.stdlib] if args.stdlib else [], Path(tmp) / "b.jsonl", check_runnable=False)
        secs, stdlib = mine([args.stdlib] if args.stdlib else [], Path(tmp) / "s.jsonl")
        rows += table("stdlib", stdlib, secs)
        rows.append(f"|   mine without the probe (baseline) | | | | {base:.1f} ({secs / base:.1f}x with it) |")
        csn = next((d for d in CSN if d.is_dir()), None)
        if csn is None:
            rows.append("| CodeSearchNet sample | not found | | | |")
        else:
            files = sorted(str(p) for p in csn.glob("python_*.jsonl"))
            relaxed = {"min_lines": 0, "min_tokens": 0, "min_docstring_tokens": 0, "near_dup_threshold": 0.0}
            secs, records = mine(files, Path(tmp) / "c.jsonl", **relaxed)
            rows += table(f"CodeSearchNet sample ({csn.name}, python)", records, secs)
    print("\n".join(rows))
    if args.coreset:
        print("\n".join(seed_test_rows(args.coreset, args.llm, args.samples)))


if __name__ == "__main__":
    main()
