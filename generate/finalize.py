"""After the loop: dedup and decontaminate the accepted set, export it, write the report and the manifest.

The report counts come from the output files, not from this process, so they describe the whole result even
when it was built over several resumed runs.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from codecurate.config import to_dict
from codecurate.generate.config import GenerateConfig
from codecurate.generate.examples import Example, Plan
from codecurate.io import JsonlAppender, side_path, write_json, write_jsonl
from codecurate.manifest import write_manifest
from codecurate.timer import Timings

STAGE_COUNT = {
    "unvalidated": "unvalidated",
    "parse": "parse_failed",
    "rules": "rule_rejected",
    "discriminator": "disc_rejected",
    "validation": "validation_failed",
    "duplicate": "duplicates",
    "contaminated": "contaminated",
    "backend": "backend_failed",
}
COUNT_KEYS = (
    "requested", "generated", "backend_failed", "parse_failed", "rule_rejected", "disc_rejected", "accepted",
    "validation_failed", "unvalidated", "duplicates", "contaminated", "written", "code_written", "validated",
)  # fmt: skip
# "unvalidated": code examples (generate, translate, fix) whose tests could not run with --validate: in
# <out>.unvalidated.jsonl, or written with --keep-unvalidated. "code_written": written examples of those tasks;
# "validated": written examples whose execution check passed (summarize has none: it is not code-bearing).
CODE_TASKS = ("generate", "translate", "fix")


def _unvalidated(rec: dict) -> bool:
    return (rec.get("validation") or {}).get("status") == "unvalidated"


def merge_unvalidated(records: list[dict], unvalidated_path: Path) -> list[dict]:
    """``--keep-unvalidated``: the output's records plus the unvalidated file's (each once, marked by its
    ``validation.status``), so the opt-in also applies to examples judged by earlier runs."""
    with JsonlAppender(unvalidated_path) as unv:
        extra = unv.existing
    known = {r.get("id") for r in records}
    merged = [{k: v for k, v in r.items() if k != "stage"} for r in extra if r.get("id") not in known]
    return records + merged


def filter_accepted(
    cfg: GenerateConfig, out: Path, rejected_path: Path, timings: Timings, unvalidated_path: Path | None = None
) -> tuple[list[dict], dict[str, int]]:
    """Rewrite the output without duplicates and contaminated examples; those move to the rejected file."""
    from codecurate.generate.decontam import Index, decontaminate, load_benchmark
    from codecurate.generate.dedup import dedup

    with JsonlAppender(out) as acc:
        records = acc.existing
    if cfg.keep_unvalidated and unvalidated_path is not None:
        records = merge_unvalidated(records, unvalidated_path)
    removed: list[dict] = []
    hits: dict[str, int] = {}
    filters = cfg.filters
    if filters.dedup:
        with timings("dedup"):
            records, dups = dedup(records, filters.near_dup_threshold)
        removed += [r | {"stage": "duplicate", "reasons": [why]} for r, why in dups]
    if filters.decontaminate_with:
        with timings("decontaminate"):
            benchmarks: dict[str, list] = {}
            for spec in filters.decontaminate_with:
                benchmarks |= load_benchmark(spec)
            index = Index(benchmarks, filters.ngram, filters.substring_min_chars)
            records, dirty = decontaminate(records, index, filters.ngram_threshold)
        hits = dict.fromkeys(benchmarks, 0)
        for r, hit in dirty:
            hits[hit["benchmark"]] += 1
            why = f"contaminated:{hit['benchmark']}:{hit['kind']}"
            removed.append(r | {"stage": "contaminated", "reasons": [why], "contamination": hit})
    # Append the removed ones before rewriting the output: a crash in between leaves them in both files,
    # and the id check below keeps a rerun from adding them twice.
    with JsonlAppender(rejected_path) as rej:
        known = {(r.get("id"), r.get("stage")) for r in rej.existing}
        for r in removed:
            if (r.get("id"), r.get("stage")) not in known:
                rej.write(r)
    write_jsonl(out, records)
    return records, hits


def build_report(
    records: list[dict],
    rejected_path: Path,
    seeds: int,
    planned: int,
    skipped: dict[str, int],
    hits: dict,
    unvalidated_path: Path | None = None,
) -> dict[str, Any]:
    with JsonlAppender(rejected_path) as rej:
        rejected = rej.existing
    if unvalidated_path is not None:  # those not merged into the output (--keep-unvalidated) count as held back
        with JsonlAppender(unvalidated_path) as unv:
            written_ids = {r.get("id") for r in records}
            rejected = rejected + [r for r in unv.existing if r.get("id") not in written_ids]
    unvalidated_reasons: Counter = Counter()
    unvalidated_written = 0
    counts: Counter = Counter()
    per_task: dict[str, Counter] = defaultdict(Counter)
    per_language: dict[str, Counter] = defaultdict(Counter)
    reasons: Counter = Counter()
    validation: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for rec, written in [(r, True) for r in records] + [(r, False) for r in rejected]:
        stage = rec.get("stage")
        keys = ["requested"]
        if stage != "backend":
            keys.append("generated")
        if rec.get("verdict") == "accept":
            keys.append("accepted")
        if _unvalidated(rec):
            unvalidated_reasons[(rec.get("validation") or {}).get("reason", "?")] += 1
            keys.append("unvalidated")  # a held-back one is counted here, not by its stage below
            unvalidated_written += written
        if written:
            keys.append("written")
            if rec.get("task") in CODE_TASKS:
                keys.append("code_written")
            if (rec.get("validation") or {}).get("status") == "pass":
                keys.append("validated")
        elif stage in STAGE_COUNT and stage != "unvalidated":
            keys.append(STAGE_COUNT[stage])
            reasons.update(rec.get("reasons", []))
        for k in keys:
            counts[k] += 1
            per_task[rec.get("task", "?")][k] += 1
            per_language[rec.get("language", "?")][k] += 1
        check = rec.get("validation")
        if check and check.get("status") not in ("skipped", "unvalidated"):
            cell = validation[rec.get("task", "?")][rec.get("language", "?")]
            cell["run"] += 1
            cell["passed"] += check.get("status") == "pass"
    # Duplicates and contaminated records were accepted first: their accept is counted, not a second try.
    full = {k: counts.get(k, 0) for k in COUNT_KEYS}
    return {
        "counts": {"seeds": seeds, "items": planned, "seeds_skipped": sum(skipped.values())} | full,
        "seeds_skipped": skipped,
        "per_task": {t: {k: c.get(k, 0) for k in COUNT_KEYS} for t, c in sorted(per_task.items())},
        "per_language": {lang: {k: c.get(k, 0) for k in COUNT_KEYS} for lang, c in sorted(per_language.items())},
        "acceptance_rate": {
            t: round(c["accepted"] / c["generated"], 3) if c["generated"] else 0.0 for t, c in sorted(per_task.items())
        },  # fmt: skip
        "rejection_reasons": dict(reasons.most_common()),
        "decontamination": hits,
        "validation": {t: {lang: dict(c) for lang, c in by.items()} for t, by in validation.items()},
        "unvalidated_reasons": dict(unvalidated_reasons.most_common()),
        "unvalidated_written": unvalidated_written,
    }


def trust(report: dict[str, Any], items: list[Example], validate: bool) -> dict[str, Any]:
    """How far the written data was checked: share of written code examples whose tests ran and passed (goal
    1.0 with --validate), and of planned seeds that got tests (kept only at >= 90% line coverage)."""
    counts = report["counts"]
    seeds: dict[str, bool] = {}
    for it in items:
        seeds[it.seed_id] = bool(it.seed.get("tests"))
    code = counts.get("code_written", 0)
    return {
        "validate": validate,
        "code_written": code,
        "validated": counts.get("validated", 0),
        "validated_share": round(counts.get("validated", 0) / code, 4) if code else None,
        "unvalidated_written": report.get("unvalidated_written", 0),
        "seeds": len(seeds),
        "seeds_with_tests": sum(seeds.values()),
        "seeds_with_tests_share": round(sum(seeds.values()) / len(seeds), 4) if seeds else None,
    }


def finalize(
    cfg: GenerateConfig,
    out: Path,
    rejected_path: Path,
    seeds: list,
    plan: Plan,
    timings: Timings,
    tokens: dict[str, int],
) -> dict[str, Any]:
    unvalidated_path = side_path(out, "unvalidated.jsonl")
    records, hits = filter_accepted(cfg, out, rejected_path, timings, unvalidated_path)
    exports = cfg.exports
    if exports.alpaca or exports.hf_dir:
        from codecurate.generate.export import to_alpaca, to_hf_dir

        with timings("export"):
            if exports.alpaca:
                to_alpaca(records, exports.alpaca)
            if exports.hf_dir:
                to_hf_dir(records, exports.hf_dir)
    report = build_report(records, rejected_path, len(seeds), len(plan.items), plan.skipped, hits, unvalidated_path)
    report["trust"] = trust(report, plan.items, cfg.validate)
    model_s = timings.get("generate", 0.0) + timings.get("discriminate", 0.0)
    report["throughput"] = {
        "requests": tokens["requests"],
        "prompt_tokens": tokens["prompt"],
        "completion_tokens": tokens["completion"],
        "model_seconds": round(model_s, 2),
        "completion_tokens_per_s": round(tokens["completion"] / model_s, 2) if model_s else 0.0,
    }
    report["timings"] = dict(timings)
    report["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")

    report_path = side_path(out, "report.json")
    write_json(report_path, report)
    write_manifest(out, "generate", to_dict(cfg), inputs=[cfg.input], counts=report["counts"], timings=timings)
    c = report["counts"]
    return {
        "output": str(out),
        "report": str(report_path),
        "seeds": c["seeds"],
        "requested": c["requested"],
        "accepted": c["accepted"],
        "written": c["written"],
        "rejected": {
            k: c[k]
            for k in COUNT_KEYS
            if k not in ("requested", "generated", "accepted", "written", "code_written", "validated", "unvalidated")
        },  # fmt: skip
        "unvalidated": c["unvalidated"],
        "validated_share": report["trust"]["validated_share"],
        "acceptance_rate": report["acceptance_rate"],
        "completion_tokens_per_s": report["throughput"]["completion_tokens_per_s"],
    }
