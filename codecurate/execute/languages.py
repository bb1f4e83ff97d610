"""Per-language adapters for the sandbox: file name, run (and compile) command, runtime, memory-error markers.

A program is always one whole file (prompt + completion + tests for MultiPL-E, function + assertions for our
tasks), so an adapter only has to say how to run a file. How a *test* is written in each language lives in
``values.py`` (literals) and in ``ASSERT_TEMPLATES`` here.
"""

from __future__ import annotations

import shutil
import sys
import sysconfig
from dataclasses import dataclass, field

from codecurate.errors import UserError

# -S skips site.py, which in an editable-install venv costs ~15 ms a run (its .pth finders import pathlib and
# re); PYTHONPATH gives back site-packages without the .pth hooks. This boot puts back what programs expect from
# site (exit/quit), runs the sandbox's socket guard when it names one (rlimits mode), and runs the file as
# __main__ in the real __main__ module (so pickling classes defined there works). runpy would cost ~10 ms more.
_PY_BOOT = """import site as _s, sys as _y
_s.setquit()
_y.argv = _y.argv[1:]
__file__ = _y.argv[0]
_g = _s.os.environ.get("CODECURATE_SANDBOX_GUARD")
if _g:
    exec(open(_g).read(), {})
del _s, _y, _g
exec(compile(open(__file__, "rb").read(), __file__, "exec"))
"""


@dataclass(frozen=True)
class Language:
    name: str
    file_name: str  # the program is written to this file inside the sandbox dir
    run: tuple[str, ...]  # argv; "{file}" is replaced by the file name, "{python}" by this interpreter
    runtime: str  # the executable that must exist, else the run is "skipped"
    compile: tuple[str, ...] | None = None  # argv run first in the same dir; a non-zero exit is a "fail"
    # Text in stderr that means the program ran out of memory (status "memory" instead of "fail").
    memory_markers: tuple[str, ...] = ()
    aliases: tuple[str, ...] = field(default=())
    env: tuple[tuple[str, str], ...] = ()  # extra environment for the program (the sandbox scrubs the rest)

    def runtime_path(self) -> str | None:
        return sys.executable if self.runtime == "{python}" else shutil.which(self.runtime)

    def argv(self, template: tuple[str, ...]) -> list[str]:
        exe = self.runtime_path() or self.runtime
        return [a.replace("{file}", self.file_name).replace("{python}", exe) for a in template]


LANGUAGES: dict[str, Language] = {
    lang.name: lang
    for lang in (
        Language(
            "python",
            "main.py",
            ("{python}", "-S", "-c", _PY_BOOT, "{file}"),
            "{python}",
            None,
            ("MemoryError",),
            ("py",),
            (("PYTHONPATH", sysconfig.get_paths()["purelib"]),),
        ),
        Language(
            "javascript",
            "main.js",
            ("node", "{file}"),
            "node",
            None,
            ("heap out of memory", "Fatal process out of memory", "RangeError: Array buffer allocation failed"),
            ("js", "node"),
        ),
        Language("lua", "main.lua", ("lua5.4", "{file}"), "lua5.4", None, ("not enough memory",), ("lua5.4",)),
    )
}
_ALIASES = {alias: lang.name for lang in LANGUAGES.values() for alias in lang.aliases}


def canonical_name(language: str) -> str:
    """The adapter's name for ``language`` (case-insensitive, aliases allowed); UserError when unknown."""
    key = language.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in LANGUAGES:
        raise UserError(f"unknown language {language!r}; known: {', '.join(sorted(LANGUAGES))}")
    return key


def get_language(language: str) -> Language:
    return LANGUAGES[canonical_name(language)]
