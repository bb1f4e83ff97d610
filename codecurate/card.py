"""The dataset card: ``README.md`` in the Hugging Face format for the exported instruction data.

    python -c "from codecurate.card import write_dataset_card; write_dataset_card('runs/demo', 'runs/demo/dataset')"

The YAML front matter (licence, languages, task category, size category, tags, ``configs`` pointing at the Parquet
files) is what the Hub reads, written by ``huggingface_hub``'s `DatasetCardData`; the body gives the recipe (each
stage's key settings from its manifest), the counts, the licences of the sources and the known limits. Everything
comes from the run folder (see docs/run-layout.md); what a run did not record is said to be unknown rather than
guessed.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

from codecurate.io import atomic_write, is_record_file
from codecurate.models import DEFAULT_LLM, default_corpus
from codecurate.report_data import RunSummary, as_dict, funnel, load_run
from codecurate.report_text import fmt_int, trust_lines
from codecurate.stages import RunFolder

# Settings worth a line in the recipe, per stage (the full configs are in the manifests).
KEY_SETTINGS = {
    "mine": ("src", "languages", "min_lines", "max_lines", "near_dup_threshold", "max_per_language"),
    "curate": ("method", "n", "encoder", "embed_field", "quota", "seed"),
    "generate": (
        "backend",
        "model",
        "discriminator",
        "mix",
        "tasks_per_seed",
        "temperature",
        "max_tokens",
        "validate",
        "dedup",
        "decontaminate_with",
        "seed",
    ),  # fmt: skip
}
# Benchmarks by a name fragment, most specific first: (fragment, display name, licence).
BENCHMARK_LICENCES = (
    ("multipl", "MultiPL-E", "BSD-3-Clause with a machine-learning restriction: not usable as training data"),
    ("humanevalpack", "HumanEvalPack", "MIT"),
    ("humaneval_x", "HumanEval-X", "Apache-2.0"),
    ("humaneval-x", "HumanEval-X", "Apache-2.0"),
    ("humaneval", "HumanEval", "MIT"),
    ("mbpp", "MBPP", "CC-BY-4.0"),
)
SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))
PSF = "https://docs.python.org/3/license.html"


def size_category(n: int) -> str:
    return next((label for limit, label in SIZES if n < limit), "1M<n<10M" if n < 10_000_000 else "n>10M")


def classify_source(src: str) -> tuple[str, str]:
    """(kind, licence note) for one mine input: the stdlib, CodeSearchNet-format records, a Hub dataset or code."""
    p = Path(src)
    low = src.lower().replace("\\", "/")
    if p == default_corpus() or re.search(r"/lib/python3(\.\d+)?/?$", low):
        return "stdlib", "Python standard library: PSF-2.0"
    if is_record_file(low) or any(k in low for k in ("codesearchnet", "code_x_glue", "codexglue")):
        return "codesearchnet", (
            f"CodeSearchNet-format records ({p.name}): functions from GitHub repositories under their own (various) "
            "licences, named per row by `repo`/`url` upstream; the CodeXGLUE distribution is under C-UDA"
        )
    if not p.exists() and re.fullmatch(r"[\w.-]+/[\w.-]+(:[\w.-]+)?", src):
        return "hub", f"Hugging Face dataset `{src}`: see its own card for the licence"
    return "local", f"local code `{src}`: the licence of the repository it comes from applies"


def _benchmark(name: str) -> tuple[str, str] | None:
    low = name.lower()
    return next(((disp, lic) for frag, disp, lic in BENCHMARK_LICENCES if frag in low), None)


def _parquet_files(dataset_dir: Path) -> list[tuple[str, str, int]]:
    """(split, relative path, rows) for each Parquet file; the split is read from the file name, default train."""
    import pyarrow.parquet as pq

    out = []
    for path in sorted(dataset_dir.rglob("*.parquet")):
        rel = path.relative_to(dataset_dir).as_posix()
        split = next((s for s in ("train", "validation", "test") if re.match(rf"{s}\b|{s}[-_.]", path.name)), "train")
        out.append((split, rel, pq.ParquetFile(path).metadata.num_rows))
    return out


def _columns_and_mix(dataset_dir: Path, files: list[tuple[str, str, int]]) -> tuple[list[str], Counter]:
    import pyarrow.parquet as pq

    columns: list[str] = []
    mix: Counter = Counter()
    for _, rel, _ in files:
        pf = pq.ParquetFile(dataset_dir / rel)
        schema = pf.schema_arrow
        columns += [f"{f.name}: {f.type}" for f in schema if f"{f.name}: {f.type}" not in columns]
        if "task" in schema.names and "language" in schema.names:
            table = pf.read(columns=["task", "language"]).to_pydict()
            mix.update(zip(table["task"], table["language"], strict=True))
    return columns, mix


def _settings(config: dict, stage: str) -> str:
    keys = [k for k in KEY_SETTINGS[stage] if config.get(k) not in (None, "", [])]
    keys = keys or [k for k, v in config.items() if _short(v)]
    return ", ".join(f"`{k}={_show(config[k])}`" for k in keys) or "settings not recorded"


def _short(v: Any) -> bool:
    return isinstance(v, str | int | float | bool) and len(str(v)) <= 60


def _show(v: Any) -> str:
    text = ",".join(map(str, v)) if isinstance(v, list) else str(v)
    return text if len(text) <= 80 else text[:77] + "..."


def card_data(run: RunSummary, files: list[tuple[str, str, int]], n: int, prog_langs: list[str]) -> Any:
    """The front matter as ``huggingface_hub``'s `DatasetCardData` (the Hub's own field names and YAML form)."""
    from huggingface_hub import DatasetCardData

    sources = [classify_source(str(s)) for s in (as_dict(run.mine.get("config")).get("src") or [])]
    if {kind for kind, _ in sources} == {"stdlib"}:
        licence = {"license": "other", "license_name": "psf-2.0", "license_link": PSF}
    else:
        licence = {"license": "other", "license_name": "mixed-source-licences"}
    extra: dict[str, Any] = {}
    if files:
        splits: dict[str, list[str]] = {}
        for split, rel, _ in files:
            splits.setdefault(split, []).append(rel)
        data_files = [{"split": s, "path": p[0] if len(p) == 1 else p} for s, p in splits.items()]
        extra["configs"] = [{"config_name": "default", "data_files": data_files}]
    return DatasetCardData(
        **licence,
        language=["en", "code"],
        task_categories=["text-generation"],
        size_categories=[size_category(n)],
        tags=["code", "instruction-tuning", "synthetic", "codecurate", *prog_langs],
        pretty_name=f"codecurate instructions ({run.name})",
        **extra,
    )


def render_card(run: RunSummary, dataset_dir: Path) -> str:
    """The card's text: YAML front matter plus the body."""
    from huggingface_hub import DatasetCard

    files = _parquet_files(dataset_dir) if dataset_dir.is_dir() else []
    columns, mix = _columns_and_mix(dataset_dir, files) if files else ([], run.generate.mix)
    gen_counts = as_dict(run.generate.report.get("counts"))
    n = sum(rows for *_, rows in files) if files else int(gen_counts.get("written") or sum(mix.values()))
    gen_cfg = as_dict(run.generate.manifest.get("config"))
    mine_cfg = as_dict(run.mine.get("config"))
    sources = [classify_source(str(s)) for s in (mine_cfg.get("src") or [])]
    prog_langs = sorted({lang for _, lang in mix if lang and lang != "?"})
    data = card_data(run, files, n, prog_langs)
    lines = [f"# {data.pretty_name}", ""]
    lines += [
        f"{fmt_int(n)} instruction examples for code LLMs ({', '.join(prog_langs) or 'languages not recorded'}), "
        "built by codecurate with the CodeOcean/WaveCoder recipe: mine documented functions, "
        "select a diverse coreset by embedding, have an LLM write instruction/answer pairs, filter them with rules "
        "and an LLM discriminator, and check answers by execution in a sandbox.",
        "",
        *_file_lines(files, columns, mix),
        "## Recipe",
        "",
    ]
    stage_cfgs = (("mine", mine_cfg), ("curate", as_dict(run.curate.manifest.get("config"))), ("generate", gen_cfg))
    for stage, cfg in stage_cfgs:
        lines.append(f"- **{stage}**: " + (_settings(cfg, stage) if cfg else "no manifest found in the run folder"))
    manifests = (run.generate.manifest, run.curate.manifest, run.mine)
    version = next((as_dict(m.get("versions")).get("codecurate") for m in manifests if m.get("versions")), None)
    lines += ["", f"Made with codecurate {version or '(version not recorded)'}.", ""]
    steps = funnel(run)
    if steps:
        lines += ["| step | records |", "|---|---:|", *(f"| {s} | {fmt_int(c)} |" for s, c in steps), ""]
    lines += _licence_lines(sources, gen_cfg, run)
    lines += _limit_lines(gen_cfg, run)
    # DatasetCard parses the front matter back: a card the Hub could not read fails here, not on upload.
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines) + "\n"))


def _file_lines(files: list[tuple[str, str, int]], columns: list[str], mix: Counter) -> list[str]:
    lines = ["## Files", ""]
    if files:
        lines += ["| split | file | rows |", "|---|---|---:|"]
        lines += [f"| {split} | `{rel}` | {fmt_int(rows)} |" for split, rel, rows in files]
        lines += ["", "Columns: " + ", ".join(f"`{c}`" for c in columns) + ".", ""]
        lines += ["```python", "from datasets import load_dataset", "", 'ds = load_dataset("<this folder>")', "```", ""]
    else:
        lines += ["No Parquet files were found in this folder when the card was written.", ""]
    if mix:
        tasks: Counter = Counter()
        for (task, _), c in mix.items():
            tasks[task] += c
        lines += ["Examples per task: " + ", ".join(f"{t} {fmt_int(c)}" for t, c in sorted(tasks.items())) + ".", ""]
    return lines


def _licence_lines(sources: list[tuple[str, str]], gen_cfg: dict, run: RunSummary) -> list[str]:
    lines = ["## Licences", ""]
    if sources:
        lines += ["Seed code (the inputs, quoted in the examples):", "", *(f"- {note}" for _, note in sources), ""]
    else:
        lines += [
            "Seed code sources were not recorded (no mine manifest, or no `src` in it): check them before publishing.",
            "",
        ]
    if gen_cfg.get("model"):
        lines += [f"Instructions and answers were written by `{gen_cfg['model']}`; its licence terms apply too.", ""]
    decon = as_dict(run.generate.report.get("decontamination"))
    named = [str(x) for x in (gen_cfg.get("decontaminate_with") or [])] + list(decon)
    benches = {b for b in map(_benchmark, named) if b}
    if benches:
        lines += ["Benchmarks used **only to decontaminate** (examples overlapping them were dropped; none of their "
                  "content is in this dataset):", ""]  # fmt: skip
        lines += [f"- {disp}: {lic}" for disp, lic in sorted(benches)]
        hits = [f"{k} {fmt_int(v)}" for k, v in sorted(decon.items()) if isinstance(v, int)]
        lines += ["", "Examples dropped per benchmark: " + (", ".join(hits) or "none") + ".", ""]
    else:
        lines += ["No decontamination against benchmarks was recorded for this run.", ""]
    return lines


def _limit_lines(gen_cfg: dict, run: RunSummary) -> list[str]:
    model = str(gen_cfg.get("model", ""))
    lines = ["## Known limits", ""]
    if model == DEFAULT_LLM or "135m" in model.lower():
        lines.append(
            "- The generator is SmolLM2-135M-Instruct, a 135M-parameter model (run on CPU by default): instructions "
            "are short and simple, and answers can be wrong where no test checked them."
        )
    elif model:
        lines.append(f"- Quality is bounded by the generator `{model}`; filters remove bad examples, not all of them.")
    val = as_dict(run.generate.report.get("validation"))
    if not gen_cfg.get("validate") and not val:
        lines.append("- Answers were not executed: no example here is known to run correctly.")
    else:
        lines.append("- Only executable tasks in languages with a runtime were checked; summaries and explanations "
                     "are judged by the LLM discriminator alone.")  # fmt: skip
        lines.append("- Seed tests are LLM-written too: a pass means an answer agrees with them, not that it is right.")
        lines += [f"- {line}" for line in trust_lines(run)]
    if run.generate.report.get("decontamination") or gen_cfg.get("decontaminate_with"):
        lines.append("- Decontamination is n-gram/substring based: paraphrased benchmark problems can slip through.")
    return [*lines, ""]


def write_dataset_card(run_dir: str | os.PathLike, dataset_dir: str | os.PathLike | None = None) -> Path:
    """Write ``README.md`` into `dataset_dir` (default: the run folder's ``dataset/``) from what `run_dir`
    recorded; returns its path."""
    dataset_dir = Path(dataset_dir) if dataset_dir is not None else RunFolder(Path(run_dir)).dataset
    text = render_card(load_run(run_dir), dataset_dir)
    path = dataset_dir / "README.md"
    with atomic_write(path) as fh:
        fh.write(text)
    return path
