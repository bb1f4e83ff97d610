"""``codecurate <stage> ...``: one subcommand per stage plus ``pipeline``.

Each stage module defines a config dataclass and ``run(cfg) -> dict`` (the summary); the stage table
(codecurate/stages.py) says where. Only the chosen stage is imported, so ``codecurate --help`` is instant and
heavy libraries load only when needed. Before a stage starts, its record input is checked for the columns the
stage needs (one line naming the file and the column, exit 2).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from typing import Any

from codecurate import __version__
from codecurate.config import add_dataclass_arguments, parse
from codecurate.errors import UserError
from codecurate.io import DiskError, disk_error, os_error_of
from codecurate.locks import output_lock
from codecurate.stages import COMMANDS, Stage, check_inputs

# stage -> its entry in the stage table (codecurate/stages.py): the whole CLI at a glance.
STAGES: dict[str, Stage] = COMMANDS


def make_parser(stage: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codecurate",
        description="Build small, diverse, validated instruction datasets for code LLMs.",
    )
    parser.add_argument("--version", action="version", version=f"codecurate {__version__}")
    sub = parser.add_subparsers(dest="stage", metavar="STAGE")
    for name, entry in STAGES.items():
        if name != stage:
            sub.add_parser(name, help=entry.help)
            continue
        mod = entry.module()
        sp = sub.add_parser(
            name,
            help=entry.help,
            description=mod.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sp.add_argument("--config", help="YAML file with defaults for this stage (flags override it)")
        group = sp.add_mutually_exclusive_group()
        group.add_argument("-q", "--quiet", action="store_true", help="no progress bars, only errors and summary")
        group.add_argument("-v", "--verbose", action="store_true", help="debug logging")
        add_dataclass_arguments(sp, entry.config_class())
    # Not a stage: handled in main() before the stage dispatch; listed here so --help shows it.
    sub.add_parser("languages", help="each language the sandbox runs: runtime path and version, or what is missing")
    return parser


def _chosen_stage(argv: list[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def print_summary(stage: str, summary: dict[str, Any], indent: int = 0) -> None:
    if indent == 0:
        print(f"\n{stage} summary")
    for key, value in summary.items():
        if isinstance(value, dict):
            print(" " * (indent + 2) + f"{key}:")
            print_summary(stage, value, indent + 2)
        else:
            if isinstance(value, float):
                value = f"{value:.4g}"
            print(" " * (indent + 2) + f"{key}: {value}")


def setup_logging(quiet: bool, verbose: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(message)s" if not verbose else "%(levelname)s %(name)s: %(message)s")
    # Library chatter (HTTP, tokenizers) is noise at INFO.
    for noisy in ("httpx", "urllib3", "filelock", "datasets", "transformers", "sentence_transformers", "faiss"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    stage = _chosen_stage(argv)
    if stage == "languages":
        from codecurate.execute.doctor import main as languages_main

        return languages_main(argv[argv.index("languages") + 1 :])
    if "-q" in argv or "--quiet" in argv:
        # tqdm reads TQDM_* overrides when it is imported, which loading a stage may do: set it first.
        os.environ["TQDM_DISABLE"] = "1"
    if stage is not None and stage not in STAGES:
        stage = None  # let argparse report the invalid choice
    try:
        parser = make_parser(stage)
    except ImportError as e:
        print(f"codecurate {stage}: error: cannot load stage: {e}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if args.stage is None:
        parser.print_help()
        return 0
    setup_logging(args.quiet, args.verbose)
    entry = STAGES[args.stage]
    target = None
    try:
        cfg = parse(entry.config_class(), args, section=args.stage)
        check_inputs(entry, cfg)  # a missing column stops here, before any model loads
        start = time.perf_counter()
        # One writer per output: a second run on the same output is refused here, naming the holder.
        # (`eval --compare` only reads: it takes no lock and creates no folder.)
        target = None if getattr(cfg, "compare", None) else getattr(cfg, "output", None)
        with output_lock(target) if target else contextlib.nullcontext():
            summary = entry.run(cfg)
    except UserError as e:
        print(f"codecurate {args.stage}: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # a full, read-only or forbidden place, wherever it surfaced: one line, no traceback
        os_error = os_error_of(e)
        fault = disk_error(os_error, target or ".", f"running {args.stage} (output {target})") if os_error else e
        if not isinstance(fault, DiskError):
            raise
        print(f"codecurate {args.stage}: error: {fault}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"codecurate {args.stage}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    if summary is not None:
        print_summary(args.stage, {**summary, "wall_time_s": round(time.perf_counter() - start, 1)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
