"""Per-language adapters for the sandbox: file name, run (and compile) command, runtime, version probe, limits.

A program is always one whole file (prompt + completion + tests for MultiPL-E, function + assertions for our
tasks), so an adapter only has to say how to run a file. How a *test* is written in each language lives in
``values.py`` (literals, assertions) and ``harness.py`` (the pass mark).

Adding a language is one ``Language(...)`` entry below: a runtime that is not installed gives runs the status
"skipped" (with ``missing`` in the detail), so an entry can be listed before its runtime exists (Julia).

Compiled languages (java, go, cpp, rust) compile once per program in the run's dir (``compile``), then run the
result (``run``); both steps run inside the sandbox, each as a fresh uid, the compile step with its own wall clock
and address space (``Limits.compile_timeout_s``, ``compile_memory_mb``) and otherwise the run's limits.

Runtimes that reserve much more address space than they use (node, the JVM, the Go runtime) get ``extra_as_mb``
added to RLIMIT_AS; node's and the JVM's heaps are capped at ``Limits.memory_mb`` by their own flags instead.

Java: the file is ``Main.java`` and the class run is ``Main`` (``java -cp . Main``), so a program must have a
``public class Main`` with ``main`` (HumanEvalPack's Java tests do). The JVM reserves far more address space
than it uses, so its heap is capped with ``-Xmx`` at ``Limits.memory_mb`` and RLIMIT_AS gets ``extra_as_mb`` on
top; a program that outgrows the heap gets ``OutOfMemoryError`` (status "memory").
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass

from codecurate.errors import UserError

# The PATH every sandboxed program gets; runtimes are looked up here first, since that is where the program will
# find them (a runtime under /root, like rustup's, cannot be read by the sandbox's uid).
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"

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

# JVM flags for small programs under rlimits: a serial GC and the C1 compiler only (fewer threads, faster start),
# and capped non-heap reservations (metaspace, class space, code cache) so RLIMIT_AS can stay modest.
_JVM = (
    "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1", "-XX:ReservedCodeCacheSize=64m",
    "-XX:CompressedClassSpaceSize=64m", "-XX:MaxMetaspaceSize=256m", "-Xss8m", "-Xshare:auto",
)  # fmt: skip


@dataclass(frozen=True)
class Language:
    name: str
    file_name: str  # the program is written to this file inside the sandbox dir
    # argv; "{file}" is replaced by the file name, "{python}" by this interpreter, "{memory_mb}" by the limit
    run: tuple[str, ...]
    runtime: str  # the executable that must exist, else the run is "skipped"
    compile: tuple[str, ...] | None = None  # argv run first in the same dir; a non-zero exit is a "fail"
    # Text in stderr that means the program ran out of memory (status "memory" instead of "fail").
    memory_markers: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()  # extra environment for the program (the sandbox scrubs the rest)
    version: tuple[str, ...] = ()  # argv printing the runtime's version; the first `version_pattern` match is it
    version_pattern: str = r"(\d+(?:\.\d+)+)"
    extra_as_mb: int = 0  # address space added to RLIMIT_AS for what the runtime reserves but does not use
    min_procs: int = 0  # RLIMIT_NPROC floor: tasks (threads) the runtime or its compiler starts on its own
    missing: str = ""  # why the runtime may be absent and how to get it, shown when it is

    def runtime_path(self) -> str | None:
        if self.runtime == "{python}":
            return sys.executable
        return shutil.which(self.runtime, path=SANDBOX_PATH) or shutil.which(self.runtime)

    def argv(self, template: tuple[str, ...], memory_mb: int = 1024) -> list[str]:
        exe = self.runtime_path() or self.runtime
        subs = {"{file}": self.file_name, "{python}": exe, "{memory_mb}": str(memory_mb)}
        return [re.sub(r"\{(file|python|memory_mb)\}", lambda m: subs[m.group(0)], a) for a in template]

    def runtime_version(self, timeout_s: float = 30) -> str | None:
        """The installed runtime's version (running the probe, outside the sandbox: it is our own runtime), or
        None when it is missing or the probe fails."""
        if self.runtime == "{python}":
            return sys.version.split()[0]
        if not self.version or self.runtime_path() is None:
            return None
        argv = [self.runtime_path() if a == self.runtime else a for a in self.version]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return None
        found = re.search(self.version_pattern, proc.stdout + proc.stderr)
        return found.group(1) if found else None


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
            ("py", "python3"),
            (("PYTHONPATH", sysconfig.get_paths()["purelib"]),),
        ),
        Language(
            "javascript",
            "main.js",
            # V8 reserves ~700 MB of address space before running a line: the JS heap is capped at memory_mb
            # by its own flag, and RLIMIT_AS gets extra_as_mb on top.
            ("node", "--max-old-space-size={memory_mb}", "{file}"),
            "node",
            None,
            ("heap out of memory", "Fatal process out of memory", "RangeError: Array buffer allocation failed"),
            ("js", "node"),
            version=("node", "--version"),
            extra_as_mb=1024,
            missing="install Node.js (Debian: nodejs)",
        ),
        Language(
            "lua",
            "main.lua",
            ("lua5.4", "{file}"),
            "lua5.4",
            None,
            ("not enough memory",),
            ("lua5.4",),
            version=("lua5.4", "-v"),
            missing="Debian: lua5.4 (make toolchains)",
        ),
        # As MultiPL-E runs it: the toplevel on the source file (no separate compile; type errors are a "fail").
        Language(
            "ocaml",
            "main.ml",
            ("ocaml", "{file}"),
            "ocaml",
            None,
            ("Out_of_memory", "Out of memory during evaluation"),
            ("ml",),
            version=("ocaml", "-version"),
            missing="Debian: ocaml-nox (make toolchains)",
        ),
        Language(
            "r",
            "main.r",
            ("Rscript", "{file}"),
            "Rscript",
            None,
            ("cannot allocate vector", "cannot allocate memory block"),
            ("rscript",),
            version=("Rscript", "--version"),
            missing="Debian: r-base-core (make toolchains)",
        ),
        Language(
            "racket",
            "main.rkt",
            ("racket", "{file}"),
            "racket",
            None,
            ("out of memory",),
            ("rkt",),
            version=("racket", "--version"),
            missing="Debian: racket (make toolchains)",
        ),
        Language(
            "java",
            "Main.java",
            ("java", "-Xmx{memory_mb}m", *_JVM, "-cp", ".", "Main"),
            "javac",
            ("javac", "-J-Xmx512m", *(f"-J{flag}" for flag in _JVM), "-encoding", "UTF-8", "{file}"),
            # Not "unable to create native thread": that OutOfMemoryError is the process limit, not memory.
            tuple(
                f"java.lang.OutOfMemoryError: {w}" for w in ("Java heap", "Requested array", "GC overhead", "Metaspace")
            ),
            (),
            version=("javac", "-version"),
            extra_as_mb=2048,
            min_procs=32,
            missing="Debian: openjdk-17-jdk-headless (make toolchains)",
        ),
        # GOCACHE and GOPATH default under HOME, which is the run's dir, so one run's build cache can never feed
        # another's. cgo stays on (Go's default): Debian's precompiled std was built with it, and with it off a
        # program importing net rebuilds half of std (~4x slower builds).
        Language(
            "go",
            "main.go",
            ("./main",),
            "go",
            ("go", "build", "-ldflags=-s -w", "-o", "main", "{file}"),  # no DWARF/symbol table: ~30% faster links
            ("fatal error: out of memory", "fatal error: runtime: out of memory", "runtime: cannot allocate memory"),
            ("golang",),
            (("GOFLAGS", "-buildvcs=false"), ("GOPROXY", "off"), ("GOTELEMETRY", "off")),
            version=("go", "version"),
            extra_as_mb=1024,  # the Go runtime reserves ~700 MB of address space (heap arena index) at start
            min_procs=32,
            missing="Debian: golang-go (make toolchains)",
        ),
        Language(
            "cpp",
            "main.cpp",
            ("./main",),
            "g++",
            ("g++", "-std=c++17", "-o", "main", "{file}"),
            ("std::bad_alloc",),
            ("c++", "cxx"),
            version=("g++", "--version"),
            missing="Debian: g++ (make toolchains)",
        ),
        Language(
            "rust",
            "main.rs",
            ("./main",),
            "rustc",
            ("rustc", "--edition", "2021", "-o", "main", "{file}"),
            ("memory allocation of",),
            ("rs",),
            version=("rustc", "--version"),
            min_procs=32,
            missing="Debian: rustc (make toolchains)",
        ),
        # Listed so that it needs no code once a runtime exists: put `julia` on PATH and it runs.
        Language(
            "julia",
            "main.jl",
            ("julia", "--startup-file=no", "--history-file=no", "{file}"),
            "julia",
            None,
            ("OutOfMemoryError",),
            ("jl",),
            version=("julia", "--version"),
            missing="no Debian package, and it cannot be fetched on this machine; install it from julialang.org "
            "and put `julia` on PATH",
        ),
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


def installed(language: str) -> bool:
    """True when ``language``'s runtime is on PATH here (runs of it will not be "skipped")."""
    return get_language(language).runtime_path() is not None
