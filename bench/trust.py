"""Measured trust: a planted-error model behind a real loopback OpenAI server, and the trust numbers of runs.

    .venv/bin/python bench/trust.py                                  # planted-error check, every language
    .venv/bin/python bench/trust.py --report runs/demo/instructions.report.json   # also a run's trust numbers

The planted model (tests/planted.py) writes correct seed tests and, for one of two seeds, wrong code: a wrong
solution (generate), a "bug" that behaves like the fix (fix), a wrong translation into every language it knows.
``codecurate generate --validate`` runs against it through the ``openai`` backend over HTTP on 127.0.0.1. The table
says where the right and the wrong answers ended up: the goal is 0 wrong answers in the output, every right one in
it where its language can be validated here, the rest in the unvalidated file with a reason. Exit code 1 if a wrong
answer reached the output.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the planted model and loopback server are shared with the tests


def _count(where: dict[str, Counter], file: str, kind: str) -> int:
    return sum(n for f, c in where.items() if f.startswith(file) for k, n in c.items() if k.endswith(f":{kind}"))


def planted_table() -> tuple[list[list[str]], int]:
    from planted import TEMPLATES, LoopbackOpenAI, Planted, audit, planted_run

    from codecurate.generate.validate import cannot_validate

    rows, wrong_in = [], 0
    model = Planted()
    server = LoopbackOpenAI(model.reply)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            runs = [("generate+fix (python)", "generate=1,fix=1", ["javascript"], "python", 2)]
            runs += [(f"translate -> {lang}", "translate=1", [lang], lang, 1) for lang in sorted(TEMPLATES)]
            for i, (label, mix, targets, lang, tasks) in enumerate(runs):
                if lang == "python" and mix == "translate=1":
                    continue  # the seeds are Python: Python answers are the generate+fix row
                folder = Path(tmp) / str(i)
                planted_run(folder, mix, targets, model, server.url, tasks_per_seed=tasks)
                where = audit(folder, model)
                right = _count(where, "output", "right") + _count(where, "output", "real")
                wrong = _count(where, "output", "wrong") + _count(where, "output", "equivalent")
                wrong_in += wrong
                report = json.loads((folder / "out.report.json").read_text())
                share = report["trust"]["validated_share"]
                failed = sum(where.get("rejected:validation", Counter()).values())
                why = cannot_validate(lang) or "-"
                rows.append([label, str(right), str(wrong), str(failed),
                             str(report["counts"]["unvalidated"]), why,
                             "-" if share is None else f"{100 * share:.0f}%"])  # fmt: skip
    finally:
        server.close()
    return rows, wrong_in


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--report", nargs="*", default=[], help="generate report.json files to print trust numbers of")
    args = ap.parse_args()
    rows, wrong_in = planted_table()
    head = ["run", "right in output", "WRONG in output", "failed (rejected)", "unvalidated", "why unvalidated",
            "validated share of written code"]  # fmt: skip
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print(f"\nwrong answers in the output: {wrong_in} (goal 0)")
    for path in args.report:
        rep = json.loads(Path(path).read_text())
        t = rep.get("trust") or {}
        kept = rep.get("unvalidated_written", 0)
        held = rep["counts"].get("unvalidated", 0) - kept
        print(f"\n{path}: validated {t.get('validated')} of {t.get('code_written')} written code examples "
              f"(share {t.get('validated_share')}); unvalidated held back {held}, written {kept} "
              f"{rep.get('unvalidated_reasons', {})}; seeds with tests {t.get('seeds_with_tests')} of "
              f"{t.get('seeds')}")  # fmt: skip
    sys.exit(1 if wrong_in else 0)


if __name__ == "__main__":
    main()
