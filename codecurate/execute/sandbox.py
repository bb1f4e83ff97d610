"""Run untrusted programs (generated code, tests) in a separate, limited process, and report what happened.

    from codecurate.execute.sandbox import execute, Limits
    execute("assert 1 + 1 == 2", "python", Limits(timeout_s=5)).status   # "pass"

Every run gets a fresh temp dir, a scrubbed environment (HOME and TMPDIR point into that dir), wall-clock and CPU
limits, address-space, file-size and process-count limits, and capped output. A hung or crashing program is
killed with its whole process group and reported; nothing here raises for a bad program.

Isolation modes (probed once per process, see ``isolation()``):

``namespace`` (running as root with util-linux ``unshare``/``setpriv``, as in CI):
  covered: new network namespace (no interface but a downed loopback, so every connect fails, 127.0.0.1
  included); new pid namespace with its own /proc (no other process is visible, and when the run ends the
  kernel kills every process left in it, daemonised or not); new mount namespace where /tmp, /var/tmp,
  /dev/shm and /run/lock are replaced by empty read-only tmpfs (bound read-only in place instead when one holds
  the interpreter or its import path) and only the run's dir is writable; the program
  runs as a fresh unprivileged uid per run (so RLIMIT_NPROC bites, root-owned files are read-only to it and it
  cannot signal the caller or other runs) with no capabilities and ``no_new_privs`` (setuid binaries gain
  nothing).
``rlimits`` (not root, or no ``unshare``): rlimits, scrubbed env, private HOME/TMPDIR, and for Python only a
  guard that makes socket connect/bind raise. RLIMIT_NPROC is set to the user's current task count
  plus ``max_procs``; as root (which RLIMIT_NPROC does not bind) the program runs as a fresh uid via setpriv.
  NOT covered there: the program runs as the calling user, so it can write anywhere that user can, reach the
  network from other languages or via ``_socket``, and signal the caller.

Not covered in any mode: syscall filtering (no seccomp), disk usage beyond the per-file size limit inside the
run's dir, CPU starvation of other processes within the limits, reading world-readable files, kernel exploits.
Use a VM or container for truly hostile code at scale.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import resource
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from codecurate.execute.languages import SANDBOX_PATH, Language, get_language

log = logging.getLogger(__name__)

Status = Literal["pass", "fail", "timeout", "memory", "crash", "sandbox-error", "skipped"]


@dataclass
class Limits:
    timeout_s: float = 10.0  # wall clock
    cpu_s: float | None = None  # defaults to timeout_s
    memory_mb: int = 1024  # address space
    file_size_mb: int = 16
    max_procs: int = 64  # processes + threads of the sandbox uid (node alone starts ~10 threads)
    max_output_bytes: int = 64_000  # stdout and stderr each; a run that writes more is killed ("fail")
    network: bool = False
    # The compile step of a compiled language (java, go, cpp, rust) gets its own wall clock, CPU limit and address
    # space: a compiler's start (javac, rustc) under load, or what it needs, is no measure of the program.
    compile_timeout_s: float = 60.0
    compile_memory_mb: int = 2048


@dataclass
class ExecutionResult:
    status: Status
    exit_code: int | None
    stdout: str
    stderr: str
    duration_s: float
    detail: str = ""  # e.g. "runtime 'lua5.4' not installed" for skipped
    compile_s: float = 0.0  # wall time of the compile step (compiled languages); duration_s is the run step's


# Directories any user may write to; in namespace mode each is hidden under an empty root-owned tmpfs.
_WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
# Fresh uids, one per run, from a range no distribution hands out to real users.
_UID_BASE, _UID_SPAN = 1_000_000, 1_000_000

# Runs as root inside the new namespaces. One `mount -a` over a per-run fstab (one exec instead of five: each
# mount(8) costs ~3 ms) hides the world-writable dirs and brings the run's dir back through fd 3, opened before
# it was hidden (-c stops mount resolving that fd link to the now-empty path). Then drop to the run's uid. sh
# stays pid 1, so the program is an ordinary process that rlimits and its own signals affect.
_NS_SCRIPT = r"""fail() { echo "codecurate-sandbox: $1" >&2; exit 125; }
exec 3<"$1" 4<"$2" || fail "cannot open the run dir"
mount -a -c -T /proc/self/fd/4 || fail "mounts failed"
exec 3<&- 4<&-
cd "$1" || fail "cannot enter the run dir"
u=$3; r=$4; shift 4
prlimit $r setpriv --reuid="$u" --regid="$u" --clear-groups --no-new-privs --bounding-set=-all -- "$@"
exit $?
"""
_TMPFS = "none {} tmpfs size=16k,mode=0755,nosuid,nodev,noexec 0 0\n"
# A world-writable dir that holds what programs need to read (a venv or checkout under /tmp, as on CI runners) is
# made read-only in place instead of hidden: hiding it would hide the interpreter and its site-packages.
_READ_ONLY = "{0} {0} none rbind,ro 0 0\n"


def _needed_paths() -> list[str]:
    """Paths a sandboxed program must be able to read: this interpreter, its prefix and its import path."""
    paths = {sys.executable, os.path.realpath(sys.executable), sys.prefix, sys.base_prefix}
    paths.update(p for p in sys.path if p and os.path.isabs(p))
    return sorted(paths)


def _mask_line(d: str, needed: list[str]) -> str:
    inside = any(p == d or p.startswith(d.rstrip("/") + "/") for p in needed)
    return _READ_ONLY.format(d) if inside else _TMPFS.format(d)


# Python-only network block for the rlimits mode; run by the Python boot in languages.py.
_SOCKET_GUARD = """import socket as _s
def _blocked(*args, **kwargs):
    raise OSError(101, "network disabled by the codecurate sandbox")
for _name in ("connect", "connect_ex", "bind", "sendto", "sendmsg"):
    setattr(_s.socket, _name, _blocked)
_s.create_connection = _blocked
"""


@functools.cache
def isolation() -> str:
    """ "namespace" when a trivial run through unshare/prlimit/setpriv passes here (root), else "rlimits".

    Checked once per process, with the real code path, so a half-working setup falls back instead of turning
    every program into a failure.
    """
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("unshare", "setpriv", "prlimit")):
        return "rlimits"
    probe = _execute("", get_language("python"), Limits(timeout_s=20), None, "namespace")
    if probe.status != "pass":
        log.warning("sandbox: namespaces unavailable (%s %s); using rlimits", probe.detail, probe.stderr[-300:])
        return "rlimits"
    return "namespace"


def _unshare_argv(network: bool = False) -> list[str]:
    return ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc", *([] if network else ["--net"])]


def _rlimits(limits: Limits, nproc: int, extra_as_mb: int = 0) -> list[tuple[int, str, int, int]]:
    """(resource, prlimit option, soft, hard) for every limit we set."""
    cpu = int(limits.cpu_s if limits.cpu_s is not None else limits.timeout_s) + 1
    mem = (limits.memory_mb + extra_as_mb) * 1024 * 1024
    fsize = limits.file_size_mb * 1024 * 1024
    return [
        (resource.RLIMIT_CPU, "cpu", cpu, cpu + 1),  # soft: SIGXCPU, hard: SIGKILL
        (resource.RLIMIT_AS, "as", mem, mem),
        (resource.RLIMIT_FSIZE, "fsize", fsize, fsize),
        (resource.RLIMIT_NPROC, "nproc", nproc, nproc),
        (resource.RLIMIT_CORE, "core", 0, 0),
    ]


def _set_limits(rlimits: list[tuple[int, str, int, int]]) -> None:
    """preexec_fn of the rlimits mode: only plain syscalls here (it runs between fork and exec)."""
    for res, _, soft, hard in rlimits:
        resource.setrlimit(res, (soft, hard))


def _chown_tree(root_dir: str, uid: int) -> None:
    for root, dirs, files in os.walk(root_dir):
        for name in [*dirs, *files, ""]:
            os.chown(os.path.join(root, name) if name else root, uid, uid)


def _user_tasks() -> int:
    """Tasks (processes and threads) of this uid now: RLIMIT_NPROC counts them all, not just the sandbox's."""
    uid, n = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    n += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                continue
    return n


def _env(workdir: str, extra: tuple[tuple[str, str], ...], guard: str | None) -> dict[str, str]:
    env = {
        "PATH": SANDBOX_PATH,
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONIOENCODING": "utf-8",
    }
    env.update(extra)
    if guard:
        env["CODECURATE_SANDBOX_GUARD"] = guard  # the Python boot (languages.py) runs it before the program
    return env


def _read_capped(proc: subprocess.Popen, limits: Limits, deadline: float) -> tuple[bytes, bytes, str]:
    """Drain stdout/stderr until exit, the deadline, or the output cap; returns (out, err, why-killed or "")."""
    bufs = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    sel = selectors.DefaultSelector()
    for f in bufs:
        sel.register(f, selectors.EVENT_READ)
    why = ""
    try:
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                why = "timeout"
                break
            for key, _ in sel.select(timeout=left):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    continue
                buf = bufs[key.fileobj]
                buf += chunk
                if len(buf) > limits.max_output_bytes:
                    why = "output"
            if why:
                break
    finally:
        sel.close()
    return bytes(bufs[proc.stdout]), bytes(bufs[proc.stderr]), why


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _decode(data: bytes, cap: int) -> str:
    text = data[:cap].decode("utf-8", errors="replace")
    return text + f"\n... [truncated {len(data) - cap} bytes]" if len(data) > cap else text


def _run_once(argv: list[str], workdir: str, limits: Limits, lang: Language, mode: str) -> ExecutionResult:
    uid = _UID_BASE + secrets.randbelow(_UID_SPAN)
    guard = None
    procs = max(limits.max_procs, lang.min_procs)
    if mode == "namespace":
        mounts = os.path.join(os.path.dirname(workdir), "mounts")  # beside the run's dir: the program never sees it
        masks = [d for d in _WORLD_WRITABLE if os.path.isdir(d) and not os.path.islink(d)]
        needed = _needed_paths()
        fstab = "".join(_mask_line(d, needed) for d in masks)
        fstab += f"/proc/self/fd/3 {workdir} none bind,X-mount.mkdir 0 0\n"
        Path(mounts).write_text(fstab)
        # prlimit(1) rather than a preexec_fn: without one, subprocess can vfork, which stays cheap when the
        # caller is a big process (a loaded model); fork() would copy its page tables for every run.
        rlimits = _rlimits(limits, procs, lang.extra_as_mb)
        prlimit = " ".join(f"--{opt}={soft}:{hard}" for _, opt, soft, hard in rlimits)
        full = [*_unshare_argv(limits.network), "sh", "-c", _NS_SCRIPT, "sh", workdir, mounts, str(uid), prlimit]
        full += argv
        preexec = None
        _chown_tree(workdir, uid)
    else:
        full = argv
        if os.geteuid() == 0 and shutil.which("setpriv"):
            # RLIMIT_NPROC does not bind root: run as a fresh uid, whose task count starts at zero. setpriv drops
            # the uid only at exec, so the interpreter is still found where root alone can reach it.
            _chown_tree(workdir, uid)
            full = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs", "--", *argv]
            preexec = functools.partial(_set_limits, _rlimits(limits, procs, lang.extra_as_mb))
        else:
            preexec = functools.partial(_set_limits, _rlimits(limits, _user_tasks() + procs, lang.extra_as_mb))
        if not limits.network:
            guard = os.path.join(os.path.dirname(workdir), "socket_guard.py")
            Path(guard).write_text(_SOCKET_GUARD)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            full, cwd=workdir, env=_env(workdir, lang.env, guard), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True, preexec_fn=preexec,
        )  # fmt: skip
    except OSError as e:
        return ExecutionResult("sandbox-error", None, "", "", 0.0, f"could not start {argv[0]!r}: {e}")
    try:
        out, err, why = _read_capped(proc, limits, start + limits.timeout_s)
        if why:
            _kill(proc)
        else:
            # Pipes closed but the process may linger (closed its fds): give it what is left of the deadline.
            try:
                proc.wait(timeout=max(0.0, start + limits.timeout_s - time.monotonic()))
            except subprocess.TimeoutExpired:
                why = "timeout"
                _kill(proc)
        rc = proc.wait()
    finally:
        _kill(proc)  # whatever is left of the group (in namespace mode the pid namespace already took it all)
        for f in (proc.stdout, proc.stderr):
            f.close()
    duration = time.monotonic() - start
    cap = limits.max_output_bytes
    stdout, stderr = _decode(out, cap), _decode(err, cap)
    # In namespace mode sh (pid 1 of the run) reports a signalled program as 128 + signal, like a shell does.
    sig = -rc if rc < 0 else (rc - 128 if mode == "namespace" and 128 < rc < 128 + 65 else 0)
    if why == "timeout":
        return ExecutionResult("timeout", None, stdout, stderr, duration, f"wall-clock limit {limits.timeout_s:g}s")
    if why == "output":
        return ExecutionResult("fail", None, stdout, stderr, duration, f"output over {cap} bytes; killed")
    if rc == 0:
        return ExecutionResult("pass", 0, stdout, stderr, duration)
    if mode == "namespace" and rc == 125 and "codecurate-sandbox:" in stderr:
        return ExecutionResult("sandbox-error", None, stdout, stderr, duration, _last_line(stderr))
    if any(m in stderr for m in lang.memory_markers):
        return ExecutionResult("memory", rc, stdout, stderr, duration, f"memory limit {limits.memory_mb} MB")
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and _cpu_exceeded(limits, duration)):
        return ExecutionResult("timeout", rc, stdout, stderr, duration, "cpu-time limit")
    if sig:
        return ExecutionResult("crash", rc, stdout, stderr, duration, f"killed by {signal.Signals(sig).name}")
    return ExecutionResult("fail", rc, stdout, stderr, duration)


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1][:200] if lines else ""


def _cpu_exceeded(limits: Limits, duration: float) -> bool:
    return duration >= (limits.cpu_s if limits.cpu_s is not None else limits.timeout_s)


def execute(
    program: str, language: str = "python", limits: Limits | None = None, files: dict[str, str] | None = None
) -> ExecutionResult:
    """Run ``program`` as one whole file of ``language`` in a fresh sandbox; never raises for a bad program.

    ``files`` are extra files (relative path -> text) written beside the program. An unknown language raises
    UserError; a known one whose runtime is missing gives status "skipped".
    """
    lang = get_language(language)
    if lang.runtime_path() is None:
        why = f" ({lang.missing})" if lang.missing else ""
        return ExecutionResult("skipped", None, "", "", 0.0, f"runtime {lang.runtime!r} not installed{why}")
    return _execute(program, lang, limits or Limits(), files, isolation())


def _execute(program: str, lang: Language, limits: Limits, files: dict[str, str] | None, mode: str) -> ExecutionResult:
    base = tempfile.mkdtemp(prefix="codecurate-sbx-")
    workdir = os.path.join(base, "run")
    try:
        os.chmod(base, 0o755)
        os.mkdir(workdir, 0o755)
        for rel, text in {**(files or {}), lang.file_name: program}.items():
            path = os.path.normpath(os.path.join(workdir, rel))
            if os.path.isabs(rel) or not path.startswith(workdir + os.sep):
                raise ValueError(f"sandbox file {rel!r} is not a relative path inside the run's dir")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            Path(path).write_text(text, encoding="utf-8")
        if lang.compile:
            step = replace(
                limits,
                timeout_s=limits.compile_timeout_s,
                cpu_s=limits.compile_timeout_s,
                memory_mb=limits.compile_memory_mb,
            )
            built = _run_once(lang.argv(lang.compile, limits.memory_mb), workdir, step, lang, mode)
            if built.status != "pass":
                built.detail = f"compile: {built.detail or built.status}"
                if built.status == "fail":
                    built.detail = "compile error"
                built.compile_s = built.duration_s  # and duration_s stays the compile step's: no run happened
                return built
        result = _run_once(lang.argv(lang.run, limits.memory_mb), workdir, limits, lang, mode)
        result.compile_s = built.duration_s if lang.compile else 0.0
        return result
    except OSError as e:
        return ExecutionResult("sandbox-error", None, "", "", 0.0, f"{type(e).__name__}: {e}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def execute_many(
    jobs: list[tuple[str, str]] | list[tuple[str, str, dict[str, str] | None]],
    limits: Limits | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> list[ExecutionResult]:
    """Run (program, language) pairs, or (program, language, files) triples, on a bounded pool; results in the
    order of ``jobs``.

    Threads suffice: each run is a child process, and the parent thread only waits on its pipes.
    """
    if not jobs:
        return []
    workers = workers or max(1, min(len(jobs), os.cpu_count() or 1))
    from tqdm.auto import tqdm

    with ThreadPoolExecutor(workers) as pool:
        results = pool.map(lambda job: execute(job[0], job[1], limits, job[2] if len(job) > 2 else None), jobs)
        return list(tqdm(results, total=len(jobs), desc="sandbox", disable=not progress, file=sys.stderr))
