"""Language runtimes in tests: a missing runtime skips on a developer's machine but fails in CI (.ci/run sets
CI=true after `make toolchains`), so no language's tests can silently stop running there."""

from __future__ import annotations

import os

import pytest

from codecurate.execute.languages import get_language

# Every language the sandbox runs with a runtime that `make toolchains` installs (julia has no Debian package).
INSTALLABLE = ["python", "javascript", "lua", "ocaml", "r", "racket", "java", "go", "cpp", "rust"]


def require_runtime(language: str) -> None:
    lang = get_language(language)
    if lang.runtime_path() is not None:
        return
    message = f"{language}: runtime {lang.runtime!r} not installed (make toolchains)"
    if os.environ.get("CI"):
        pytest.fail(message + " in CI")
    pytest.skip(message)
