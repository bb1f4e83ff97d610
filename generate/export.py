"""Exports of the accepted examples: Alpaca-style JSON and a Hugging Face `datasets` Parquet folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codecurate.io import atomic_write, write_json

CARD = """---
task_categories: [text-generation]
tags: [code, instruction-tuning, codecurate]
---
# Instruction data made by codecurate generate

{n} examples; tasks: {tasks}; languages: {languages}.
Columns: `id, task, language, instruction, input, output, messages` plus provenance (`seed_id`, `generator`,
`discriminator`, `template_hash`, `verdict`, `reasons`, `attempt`). Load with
`datasets.load_dataset("parquet", data_files="{rel}")` or `datasets.load_dataset("<this folder>")`.
"""


def to_alpaca(records: list[dict[str, Any]], path: str | Path) -> int:
    """Alpaca JSON: a list of ``{instruction, input, output}``."""
    write_json(path, [{k: r.get(k, "") for k in ("instruction", "input", "output")} for r in records])
    return len(records)


def to_hf_dir(records: list[dict[str, Any]], directory: str | Path) -> Path:
    """``data/train-00000-of-00001.parquet`` plus a README dataset card; `load_dataset(directory)` reads it."""
    import datasets

    directory = Path(directory)
    rel = "data/train-00000-of-00001.parquet"
    target = directory / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    # Nested provenance (checklist answers, validation) varies per row; JSON-encode it so the schema is stable.
    rows = [{k: v for k, v in r.items() if k not in ("checklist", "validation")} for r in records]
    for row, r in zip(rows, records, strict=True):
        row.setdefault("target_language", None)
        row.setdefault("mutation", None)
        row["validation_status"] = (r.get("validation") or {}).get("status")
    ds = datasets.Dataset.from_list(rows) if rows else datasets.Dataset.from_dict({"id": [], "messages": []})
    with atomic_write(target, "wb") as fh:
        ds.to_parquet(fh)
    tasks = sorted({r.get("task", "") for r in records})
    languages = sorted({r.get("language", "") for r in records})
    with atomic_write(directory / "README.md") as fh:
        fh.write(CARD.format(n=len(records), tasks=", ".join(tasks), languages=", ".join(languages), rel=rel))
    return target
