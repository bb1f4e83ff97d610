"""``codecurate mine --executor ray``: the per-file work of folder sources (read, parse, build records) in Ray tasks.

    codecurate mine ~/src/big-tree --executor ray --ray-address auto -o seeds.jsonl

Only the file list, the records and per-file counts cross between driver and workers; the corpus-wide filters
(exact and MinHash near-duplicates, the per-language cap) then run on the driver exactly as with ``--executor
local``, so the output is the same, record for record (``raycluster.connect`` makes Ray Data keep input order).
Workers read the files themselves, so on a cluster the tree must be readable at the same path on every node.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from codecurate.curate.mine_tree import mine_file
from codecurate.curate.provenance import Origin
from codecurate.curate.seed_record import MineStats
from codecurate.raycluster import connect

log = logging.getLogger(__name__)

# Files per Ray task: large enough that task overhead (~ms) is small next to parsing, small enough to spread a
# tree of a few hundred files over every worker.
FILES_PER_TASK = 16


def mine_batch(batch: dict[str, np.ndarray], root: str, origin: Origin) -> dict[str, np.ndarray]:
    """Ray Data batch function: one output row per input file, its records as one JSON text plus its counts.

    JSON keeps the records' nested lists and None values intact through Arrow blocks, and the records are
    written as JSON anyway.
    """
    records, extracted, no_doc, skipped = [], [], [], []
    for path in batch["path"]:
        stats = MineStats()
        records.append(json.dumps(mine_file(Path(path), Path(root), origin, stats), ensure_ascii=False))
        extracted.append(stats.extracted)
        no_doc.append(stats.pre_removed["no_docstring"])
        skipped.append(next(iter(stats.files_skipped), ""))  # at most one reason per file
    return {
        "records": np.array(records, dtype=object),
        "extracted": np.array(extracted, dtype=np.int64),
        "no_docstring": np.array(no_doc, dtype=np.int64),
        "skipped": np.array(skipped, dtype=object),
    }


def mine_files_ray(
    files: list[Path], root: Path, origin: Origin, stats: MineStats, address: str = "", workers: int = 0
) -> Iterator[dict]:
    """Records of `files` (in file order) parsed by Ray tasks; `stats` gets the same counts as a local run."""
    if not files:
        return
    ray = connect(address or None)
    ds = ray.data.from_items([{"path": str(f)} for f in files])
    out = ds.map_batches(
        mine_batch,
        fn_kwargs={"root": str(root), "origin": origin},
        batch_size=FILES_PER_TASK,
        batch_format="numpy",
        num_cpus=1,
        concurrency=workers or None,
    )
    done = 0
    for batch in out.iter_batches(batch_size=None, batch_format="numpy"):
        for recs, extracted, no_doc, skipped in zip(
            batch["records"], batch["extracted"], batch["no_docstring"], batch["skipped"], strict=True
        ):
            stats.extracted += int(extracted)
            stats.pre_removed["no_docstring"] += int(no_doc)
            if skipped:
                stats.files_skipped[str(skipped)] += 1
            done += 1
            yield from json.loads(recs)
    if done != len(files):  # preserve_order and one row per file make this an invariant; output depends on it
        raise RuntimeError(f"Ray returned results for {done} of {len(files)} files")
    log.info("mined %d files with Ray", done)
