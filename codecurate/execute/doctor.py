"""``codecurate languages``: each language the sandbox knows, with its runtime's path and version, or what is
missing and how to get it.

    codecurate languages           # a table
    codecurate languages --json    # one JSON object per language

Versions come from each language's probe (``Language.version``), run directly (not sandboxed: it is our own
runtime answering ``--version``). The last line names the sandbox's isolation mode (docs/sandbox.md).
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from codecurate.execute.languages import LANGUAGES, Language


@dataclass
class RuntimeStatus:
    language: str
    aliases: list[str]
    runtime: str  # the executable looked for
    path: str | None  # where it was found, None when missing
    version: str | None  # None when missing or the probe failed
    compiled: bool
    detail: str  # "ok", "version probe failed", or "missing: ..." with the reason

    @property
    def available(self) -> bool:
        return self.path is not None


def runtime_status(lang: Language) -> RuntimeStatus:
    path = lang.runtime_path()
    runtime = "python" if lang.runtime == "{python}" else lang.runtime
    version = lang.runtime_version() if path else None
    if path is None:
        detail = f"missing: {runtime} not on PATH" + (f" ({lang.missing})" if lang.missing else "")
    else:
        detail = "ok" if version else "version probe failed"
    return RuntimeStatus(lang.name, list(lang.aliases), runtime, path, version, lang.compile is not None, detail)


def survey() -> list[RuntimeStatus]:
    """One RuntimeStatus per language, in the table's order (probes run in parallel: JVM and R starts are slow)."""
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(runtime_status, LANGUAGES.values()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="codecurate languages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    args = parser.parse_args(argv)
    rows = survey()
    if args.json:
        for row in rows:
            print(json.dumps(asdict(row), ensure_ascii=False))
        return 0
    print(f"{'language':<11} {'aliases':<16} {'version':<10} {'runtime':<34} status")
    for r in rows:
        where = r.path or "-"
        print(f"{r.language:<11} {','.join(r.aliases) or '-':<16} {r.version or '-':<10} {where:<34} {r.detail}")
    from codecurate.execute.sandbox import isolation

    n = sum(r.available for r in rows)
    print(f"\n{n}/{len(rows)} runtimes installed; sandbox isolation: {isolation()} (docs/sandbox.md)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
