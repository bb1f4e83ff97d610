"""Mine documented functions from source trees or CodeSearchNet files into seed records.

    codecurate mine -o runs/demo/seeds.jsonl                       # the running Python's standard library
    codecurate mine ~/src/myproject --languages python go -o seeds.jsonl
    codecurate mine python_train.jsonl.gz other.parquet -o seeds.jsonl   # existing CodeSearchNet/CodeXGLUE files
    codecurate mine google/code_x_glue_ct_code_to_text:ruby --hf-split train -o seeds.jsonl   # a Hub dataset

Each SRC is a folder (walked in sorted order, `--exclude` patterns left out), a source file, a .jsonl/.jsonl.gz/
.parquet file of CodeSearchNet records, or a Hugging Face dataset name (``name[:config]``). Records then pass the
WaveCoder-style filters (docstring, length, exact and near-duplicates, per-language cap); the summary and the
manifest say what each filter removed. Output: CodeSearchNet records plus ``id`` and ``code_no_docstring``
(docs/schema.md).

This module holds the config and the run; each source kind has its own: folders and source files in
`mine_tree` (with `mine_ray` for ``--executor ray``), record files and Hub datasets in `mine_csn`, the ``repo`` and
``sha`` of source code in `provenance`, the record shape in `seed_record`, the filters in `filters`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codecurate.config import flat_names, to_dict
from codecurate.curate.extract import LANGUAGES
from codecurate.curate.filters import FilterConfig, count_by_language, run_filters
from codecurate.curate.mine_csn import HF_NAME, mine_hub, mine_record_file
from codecurate.curate.mine_python import mark_runnable, runnable_counts
from codecurate.curate.mine_tree import DEFAULT_EXCLUDE, mine_files, mine_source_file, tree_files
from codecurate.curate.provenance import origin_of
from codecurate.curate.seed_record import PRE_FILTERS, MineStats
from codecurate.errors import UserError
from codecurate.io import is_record_file, write_jsonl
from codecurate.manifest import write_manifest
from codecurate.models import default_corpus
from codecurate.raycluster import RayOptions
from codecurate.timer import Timings


@flat_names
@dataclass
class MineConfig:
    src: list[str] = field(
        default_factory=list,
        metadata={"positional": True, "help": "folders, source files, CodeSearchNet .jsonl(.gz)/.parquet files or "
                  "Hub dataset names (name[:config]); none = the running Python's standard library"},
    )  # fmt: skip
    output: str = field(default="seeds.jsonl", metadata={"aliases": ["-o"], "help": "output JSONL file"})
    languages: list[str] = field(
        default_factory=lambda: list(LANGUAGES), metadata={"help": "languages to keep (default: all supported)"}
    )
    exclude: list[str] = field(
        default_factory=lambda: list(DEFAULT_EXCLUDE),
        metadata={"help": "glob patterns left out of folder walks; without '/' a pattern matches any folder or "
                  "file name, with '/' the path relative to the folder"},
    )  # fmt: skip
    max_files: int = field(
        default=0, metadata={"help": "read at most this many source files per folder, evenly spread; 0 = all"}
    )
    check_runnable: bool = field(
        default=True,
        metadata={"help": "run each kept Python seed once in the sandbox to set runnable / runnable_reason "
                  "(off: left unset, generate decides when it needs to)"},
    )  # fmt: skip
    hf_split: str = field(default="train", metadata={"help": "split to read from Hub dataset sources"})
    # --min-lines ... --near-dup-threshold, --max-per-language, --seed, --require-*, --runnable-only
    filters: FilterConfig = field(default_factory=FilterConfig)
    # --executor ray parses the files of folder sources in Ray tasks (docs/mine.md)
    ray: RayOptions = field(default_factory=RayOptions)


def run(cfg: MineConfig) -> dict[str, Any]:
    languages = _check(cfg)
    sources = cfg.src or [str(default_corpus())]
    timings = Timings()
    stats = MineStats()
    records: list[dict] = []
    with timings("extract"):
        for src in sources:
            records.extend(_collect(src, languages, cfg, stats))
    if stats.extracted == 0:
        where = ", ".join(sources)
        raise UserError(f"{where}: empty input: no functions or records found for {', '.join(languages)}")
    with timings("filter"):
        kept, removed = run_filters(records, cfg.filters, mark_runnable)
    if cfg.check_runnable and not cfg.filters.runnable_only:
        with timings("runnable"):
            mark_runnable(kept)
    removed["no_docstring"] += stats.pre_removed["no_docstring"]
    removed = {**{k: stats.pre_removed[k] for k in PRE_FILTERS}, **removed}
    if not kept:
        raise UserError(f"no functions left after filtering ({stats.extracted} extracted; removed: {removed})")
    with timings("write"):
        write_jsonl(cfg.output, kept)
    counts = {
        "files": stats.files,
        "files_skipped": dict(sorted(stats.files_skipped.items())),
        "extracted": stats.extracted,
        "removed": removed,
        "kept": len(kept),
        "by_language": count_by_language(kept),
    }
    if any("runnable" in r for r in kept):
        counts["runnable"] = runnable_counts(kept)
    inputs = [s for s in sources if Path(s).exists()]
    write_manifest(cfg.output, "mine", to_dict(cfg), inputs=inputs, counts=counts, timings=dict(timings))
    return {"output": cfg.output, **counts, "seconds": round(sum(timings.values()), 2)}


def _check(cfg: MineConfig) -> list[str]:
    unknown = [lang for lang in cfg.languages if lang not in LANGUAGES]
    if unknown:
        raise UserError(f"unknown language(s) {', '.join(unknown)}; supported: {', '.join(LANGUAGES)}")
    if not cfg.languages:
        raise UserError(f"--languages is empty; supported: {', '.join(LANGUAGES)}")
    cfg.filters.check()
    if cfg.max_files < 0 or cfg.ray.ray_workers < 0:
        raise UserError("max_files and ray_workers must be >= 0")
    if cfg.ray.ray_gpus_per_worker:
        raise UserError("mine parses on CPUs: --ray-gpus-per-worker must be 0 (it is for curate and generate)")
    return list(dict.fromkeys(cfg.languages))


def _collect(src: str, languages: list[str], cfg: MineConfig, stats: MineStats) -> Iterator[dict]:
    """The records of one SRC, whichever kind it is."""
    path = Path(src).expanduser()
    if path.is_dir():
        files = tree_files(path, languages, cfg.exclude, cfg.max_files, stats)
        origin = origin_of(path)
        if cfg.ray.executor == "ray":
            from codecurate.curate.mine_ray import mine_files_ray

            yield from mine_files_ray(files, path, origin, stats, cfg.ray.ray_address, cfg.ray.ray_workers)
        else:
            yield from mine_files(files, path, origin, stats)
    elif path.is_file():
        if is_record_file(path):
            yield from mine_record_file(path, languages, stats)
        else:
            yield from mine_source_file(path, languages, stats)
    elif path.exists():
        raise UserError(f"{path}: not a regular file or folder")
    elif HF_NAME.match(src):
        yield from mine_hub(src, cfg.hf_split, languages, stats)
    else:
        raise UserError(f"{src}: no such file or folder")
