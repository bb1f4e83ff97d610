"""Run manifests: what produced a file (config, package versions, input hashes, counts, timings).

A manifest sits next to its output (``out.jsonl`` -> ``out.jsonl.manifest.json``; a directory output gets
``manifest.json`` inside). The pipeline compares a stage's config hash and input hashes against it to decide
whether the stage can be skipped.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from codecurate.io import sha256_file, sha256_text, write_json
from codecurate.raycluster import RayOptions

PACKAGES = (
    "codecurate", "torch", "transformers", "sentence-transformers", "faiss-cpu", "datasets",
    "trl", "peft", "numpy", "vllm",
)  # fmt: skip


def manifest_path(output: str | Path) -> Path:
    output = Path(output)
    if output.is_dir() or output.suffix == "":
        return output / "manifest.json"
    return output.with_name(output.name + ".manifest.json")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def hash_inputs(inputs: list[str | Path]) -> dict[str, str]:
    """SHA-256 per input file; a directory hashes its file listing with sizes and mtimes (cheap, not content)."""
    hashes = {}
    for item in inputs:
        p = Path(item)
        if p.is_file():
            hashes[str(p)] = sha256_file(p)
        elif p.is_dir():
            listing = sorted(
                f"{f.relative_to(p)}:{f.stat().st_size}:{int(f.stat().st_mtime)}" for f in p.rglob("*") if f.is_file()
            )
            hashes[str(p)] = "dir:" + sha256_text(*listing)
        else:
            hashes[str(p)] = "missing"
    return hashes


# Where the work ran, not what it produced (--executor ray gives the records of local, tested): a run finished
# on a laptop counts as done when rerun on a cluster, and the other way round.
# They are the fields of the one Ray section every scalable stage has.
PLACEMENT_KEYS = frozenset(f.name for f in dataclasses.fields(RayOptions))


def config_hash(config: dict[str, Any]) -> str:
    what = {k: v for k, v in config.items() if k not in PLACEMENT_KEYS}
    return sha256_text(json.dumps(what, sort_keys=True, default=str))


def write_manifest(
    output: str | Path,
    stage: str,
    config: dict[str, Any],
    inputs: list[str | Path] = (),
    counts: dict[str, Any] | None = None,
    timings: dict[str, float] | None = None,
    input_hashes: dict[str, str] | None = None,
) -> Path:
    """Write the manifest for `output` atomically and return its path."""
    path = manifest_path(output)
    write_json(
        path,
        {
            "stage": stage,
            "output": str(output),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": sys.argv,
            "config": config,
            "config_hash": config_hash(config),
            "inputs": input_hashes if input_hashes is not None else hash_inputs(list(inputs)),
            "versions": package_versions(),
            "counts": counts or {},
            "timings": timings or {},
        },
    )
    return path


def read_manifest(output: str | Path) -> dict[str, Any] | None:
    path = manifest_path(output)
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def is_up_to_date(output: str | Path, config: dict[str, Any], inputs: list[str | Path]) -> bool:
    """True when `output` exists and its manifest records the same config and the same input hashes."""
    if not Path(output).exists():
        return False
    m = read_manifest(output)
    return bool(m) and m.get("config_hash") == config_hash(config) and m.get("inputs") == hash_inputs(list(inputs))
