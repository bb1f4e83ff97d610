"""Few-shot memory (the CodeOcean feedback loop): accepted and rejected examples in per-task pools on disk.

Each generation samples *whole* examples from both pools (WaveCoder's released code samples characters and
drops the good ones; we do neither). Pools keep the ``pool_size`` most recent entries; the files under the
memory folder are append-only, so a rerun starts with the pools the last run ended with.

With ``per_language`` (xCoder-style multilingual memory) an example is drawn from the pool of the seed's own
language first, and the prompt carries a short running summary of that language's most frequent faults.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from pathlib import Path
from typing import Any

from codecurate.io import JsonlAppender

ALL = "*"  # the pool key holding every language


class Memory:
    def __init__(self, directory: str | Path | None, pool_size: int = 32, per_language: bool = False):
        self.directory = Path(directory) if directory else None
        self.pool_size = pool_size
        self.per_language = per_language
        self.pools: dict[tuple[str, str, bool], deque] = {}
        self.faults: dict[str, Counter] = {}
        self._files: dict[tuple[str, bool], JsonlAppender] = {}
        if self.directory:
            for path in sorted(self.directory.glob("*.jsonl")):
                task, _, kind = path.stem.partition(".")
                if kind in ("good", "bad"):
                    with JsonlAppender(path) as old:  # also repairs a line torn by a kill
                        for entry in old.existing:
                            self._remember(task, entry, kind == "good")

    def _pool(self, task: str, language: str, good: bool) -> deque:
        return self.pools.setdefault((task, language, good), deque(maxlen=self.pool_size))

    def _remember(self, task: str, entry: dict[str, Any], good: bool) -> None:
        lang = entry.get("language", "")
        self._pool(task, ALL, good).append(entry)
        if self.per_language:
            self._pool(task, lang, good).append(entry)
        if not good:
            for key in (ALL, lang):
                self.faults.setdefault(key, Counter()).update(entry.get("faults", []))

    def add(self, task: str, entry: dict[str, Any], good: bool) -> None:
        """Remember an example (``entry`` holds ``language``, ``code``, reply fields, and ``faults`` if bad)."""
        self._remember(task, entry, good)
        if self.directory:
            key = (task, good)
            if key not in self._files:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._files[key] = JsonlAppender(self.directory / f"{task}.{'good' if good else 'bad'}.jsonl")
            self._files[key].write(entry)

    def sample(
        self, task: str, language: str, k: int, good: bool, rng: random.Random, fallback: list[dict] = ()
    ) -> list[dict[str, Any]]:
        """Up to `k` whole examples: same-language pool first (per_language), then all languages, then `fallback`."""
        picked: list[dict[str, Any]] = []
        keys = [language, ALL] if self.per_language else [ALL]
        for key in keys:
            pool = [e for e in self.pools.get((task, key, good), ()) if not any(e is p for p in picked)]
            picked += rng.sample(pool, min(k - len(picked), len(pool)))
            if len(picked) >= k:
                return picked
        rest = list(fallback)
        return picked + rng.sample(rest, min(k - len(picked), len(rest)))

    def fault_summary(self, language: str, top: int = 3) -> str:
        """The most frequent faults, e.g. ``output copies input (7), syntax error (3)``."""
        counts = self.faults.get(language if self.per_language else ALL, Counter())
        return ", ".join(f"{name} ({n})" for name, n in counts.most_common(top))

    def close(self) -> None:
        for f in self._files.values():
            f.close()
