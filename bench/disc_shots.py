"""Discriminator shots: what showing the judge earlier judged examples (with their reasons) changes in acceptance.

    .venv/bin/python bench/disc_shots.py --backend scripted              # seconds
    nice .venv/bin/python bench/disc_shots.py --backend smollm2 --seeds 12  # the embedded model on CPU (minutes)

A warm-up run over other seeds fills the few-shot pools; then the same seeds run twice from a copy of those same
pools, once with ``--disc-shots-good 0 --disc-shots-bad 0`` (the judge sees only its checklist, as before) and
once with the defaults (1 and 1), everything else equal (greedy generation, one attempt). Printed per setting:
acceptance by the judge (of the examples that reached it), accepted per task, and the judge's prompt size.

The scripted judge ignores the shots by construction (it decides on a hash of the example), so its row checks the
plumbing and prices the longer prompt; the SmolLM2 row is the real effect. Seeds: the Python/JavaScript functions of
the tiny CodeXGLUE sample in ../shared/data (six languages, interleaved; or --seed-file).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # canned_reply: the scripted generator the tests use
DEFAULT_SEEDS = REPO.parent / "shared" / "data" / "codexglue_code_to_text_6lang_tiny" / "all_6lang.jsonl"


class JudgeMeter:
    """Wraps a backend; counts the characters of the judge's prompts and its yes/no decisions pass through."""

    def __init__(self, inner):
        self.inner, self.name = inner, getattr(inner, "name", "backend")
        self.judge_chars = self.judge_calls = 0

    def complete(self, requests):
        for r in requests:
            if r.messages[0]["content"].startswith("You review"):
                self.judge_calls += 1
                self.judge_chars += sum(len(m["content"]) for m in r.messages)
        return self.inner.complete(requests)


def scripted_backend():
    from test_backends import canned_reply

    from codecurate.llm.base import FunctionBackend

    def reply(messages):
        if "review one training example" in messages[0]["content"]:
            # Decides on the example alone (the user turn), never on the shots: a no for one example in three.
            digest = int(hashlib.sha256(messages[-1]["content"].encode()).hexdigest(), 16)
            second = "no - the output is off" if digest % 3 == 0 else "yes - it does"
            return f"1. yes - clear\n2. {second}\n3. yes - right language"
        return canned_reply(messages)

    return FunctionBackend(reply, "scripted")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["scripted", "smollm2"], default="scripted")
    ap.add_argument("--seed-file", default=str(DEFAULT_SEEDS))
    ap.add_argument("--seeds", type=int, default=12, help="measured seeds (the warm-up uses as many others)")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--disc-max-tokens", type=int, default=32)
    args = ap.parse_args()

    from codecurate.generate.loop import GenerateConfig, run

    rows = [json.loads(x) for x in Path(args.seed_file).read_text().splitlines() if x.strip()]
    rows = [r for r in rows if len(r["code"]) < 1200]
    seen: dict[str, int] = {}
    rank = [seen.__setitem__(r["language"], seen.get(r["language"], -1) + 1) or seen[r["language"]] for r in rows]
    rows = [r for _, r in sorted(zip(rank, rows, strict=True), key=lambda x: (x[0], x[1]["language"]))]  # interleave
    warm, measured = rows[args.seeds : 2 * args.seeds], rows[: args.seeds]
    if args.backend == "smollm2":
        from codecurate.llm import load_backend

        inner = load_backend("transformers", "smollm2", batch_size=8)
    else:
        inner = scripted_backend()
    common = {"max_tokens": args.max_tokens, "disc_max_tokens": args.disc_max_tokens, "temperature": 0.0,
              "max_attempts": 1, "decontaminate_with": [], "batch_size": 8,
              "mix": "generate=1,summarize=1"}  # fmt: skip
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, seeds in (("warm", warm), ("measured", measured)):
            Path(tmp, f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in seeds))
        run(GenerateConfig(f"{tmp}/warm.jsonl", f"{tmp}/warm/inst.jsonl", **common), inner)
        for label, shots in (("no shots (0/0)", 0), ("shots (1/1)", 1)):
            out = Path(tmp, f"s{shots}", "inst.jsonl")
            shutil.copytree(Path(tmp, "warm", "inst.memory"), out.with_name("inst.memory"))
            meter = JudgeMeter(inner)
            cfg = GenerateConfig(f"{tmp}/measured.jsonl", str(out), disc_shots_good=shots, disc_shots_bad=shots,
                                 **common)  # fmt: skip
            run(cfg, meter)
            results.append((label, meter, json.loads(out.with_name("inst.report.json").read_text())))

    langs = ", ".join(sorted({r["language"] for r in measured}))
    print(f"\n{args.backend}: {len(measured)} seeds ({langs}), mix generate/summarize, greedy, one attempt, "
          f"pools from a warm-up over {len(warm)} other seeds")  # fmt: skip
    print("| judge sees | judged | judge accepted | accept rate | accepted generate | accepted summarize | "
          "judge prompt chars/call |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, meter, rep in results:
        c = rep["counts"]
        judged = c["accepted"] + c["disc_rejected"]
        pt = rep["per_task"]
        rate = f"{100 * c['accepted'] / judged:.0f}%" if judged else "-"
        per_call = meter.judge_chars // max(meter.judge_calls, 1)
        print(f"| {label} | {judged} | {c['accepted']} | {rate} | {pt.get('generate', {}).get('accepted', 0)} | "
              f"{pt.get('summarize', {}).get('accepted', 0)} | {per_call} |")  # fmt: skip


if __name__ == "__main__":
    main()
