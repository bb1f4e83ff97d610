"""Hostile programs (tests/evil_programs): each must end as a reported non-pass within its limits, leaving no
process and no file behind. Each evil program exits 0 only if its attack worked, so "pass" means a breach."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from pathlib import Path

import pytest
from conftest import REPO
from runtimes import require_runtime

from codecurate.execute.sandbox import ExecutionResult, Limits, execute, execute_many, isolation

EVIL = REPO / "tests" / "evil_programs"
needs_namespace = pytest.mark.skipif(isolation() != "namespace", reason="needs root + unshare (namespace mode)")


def _procs_with(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == marker:
                found.append(int(pid))
        except OSError:
            continue
    return found


def run_evil(name: str, limits: Limits, **settings: object) -> tuple[ExecutionResult, str]:
    """Run evil program ``name`` with ``settings`` in its evil.json; assert nothing with its marker survives."""
    marker = f"ev{uuid.uuid4().hex[:13]}"  # a process name (comm) holds 15 characters
    program = (EVIL / f"{name}.py").read_text()
    settings = json.dumps({"marker": marker, **settings})
    started = time.monotonic()
    result = execute(program, "python", limits, files={"evil.json": settings})
    # The run's own wall limit plus slack for the kill and a loaded machine.
    assert time.monotonic() - started < limits.timeout_s + 5
    deadline = time.monotonic() + 3
    while _procs_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _procs_with(marker) == [], f"processes of {name} outlived the run"
    return result, marker


def test_root_with_util_linux_gets_namespace_isolation():
    """A silent fall back to rlimits (say, the venv sat under a dir the namespace hides) must fail loudly here."""
    import shutil

    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("unshare", "setpriv", "prlimit")):
        pytest.skip("namespace mode needs root and util-linux")
    assert isolation() == "namespace"


@pytest.mark.parametrize("mode", ["auto", "rlimits"])
def test_fork_bomb_is_stopped_by_process_limit(mode, monkeypatch):
    if mode == "rlimits":  # the fallback must hold the process limit too, as root included
        from codecurate.execute import sandbox

        monkeypatch.setattr(sandbox, "isolation", lambda: "rlimits")
    result, _ = run_evil("fork_bomb", Limits(timeout_s=5, max_procs=16))
    assert result.status != "pass"
    assert "BlockingIOError" in result.stderr or result.status == "timeout", result


def test_memory_bomb_reports_memory():
    result, _ = run_evil("memory_bomb", Limits(timeout_s=10, memory_mb=256))
    assert result.status == "memory", result


def test_infinite_loop_and_escaped_child_are_killed():
    result, _ = run_evil("infinite_loop", Limits(timeout_s=1))
    assert result.status == "timeout"
    assert result.duration_s < 4


def test_unbounded_output_is_capped_and_killed():
    limits = Limits(timeout_s=10, max_output_bytes=10_000)
    result, _ = run_evil("unbounded_output", limits)
    assert result.status == "fail" and "output over" in result.detail
    assert len(result.stdout) < 10_000 + 100  # the cap plus the truncation note
    assert result.duration_s < 5


@needs_namespace
def test_loopback_connection_fails():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        result, _ = run_evil("socket_connect", Limits(timeout_s=10), host="127.0.0.1", port=server.getsockname()[1])
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing ever connected
    assert result.status == "fail" and "blocked" in result.stderr


@needs_namespace
def test_public_address_connection_fails():
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): a documentation address, so no real host is ever contacted.
    result, _ = run_evil("socket_connect", Limits(timeout_s=10), host="192.0.2.1", port=80)
    assert result.status == "fail" and "blocked" in result.stderr
    assert result.duration_s < 5  # unreachable at once, not a connect timeout


@needs_namespace
def test_no_file_outside_the_run_dir(tmp_path):
    name = f"codecurate-evil-{uuid.uuid4().hex}"
    targets = [Path.home() / name, Path("/tmp") / name, Path("/var/tmp") / name, Path("/dev/shm") / name]
    targets.append(tmp_path / name)  # a root-owned dir of the test run
    result, _ = run_evil("write_outside", Limits(timeout_s=10), targets=[str(t) for t in targets])
    assert result.status == "fail", result
    assert [t for t in targets if t.exists()] == []
    assert result.stdout.count("blocked") == len(targets)


@needs_namespace
def test_environment_secrets_are_not_visible(monkeypatch):
    secret = f"SECRET-{uuid.uuid4().hex}"
    monkeypatch.setenv("CODECURATE_FAKE_TOKEN", secret)
    result, _ = run_evil("read_secrets", Limits(timeout_s=10))
    assert result.status == "fail", result
    assert secret not in result.stdout + result.stderr
    assert "CODECURATE_FAKE_TOKEN" not in result.stdout


@needs_namespace
def test_killing_the_parent_fails():
    result, _ = run_evil("kill_parent", Limits(timeout_s=10), parent_pid=os.getpid())
    assert result.status == "fail", result
    assert result.stdout.count("blocked") == 2


# ---- the same attacks in every language (tests/evil_programs/evil.<ext>) ------------------------------------------

EXT = {"python": "py", "javascript": "js", "lua": "lua", "ocaml": "ml", "r": "r", "racket": "rkt", "java": "java",
       "go": "go", "cpp": "cpp", "rust": "rs"}  # fmt: skip
CANNOT = {"connect": {"lua"}}  # Lua's standard library has no sockets


def run_evil_everywhere(attack: str, limits: Limits, **fill: object) -> dict[str, ExecutionResult]:
    """evil.<ext> with @ATTACK@ = attack in every language with a runtime (all of them in CI), run two at a time;
    asserts each ended within its limits and left no process behind."""
    languages = [lang for lang in EXT if lang not in CANNOT.get(attack, ())]
    for language in languages:
        require_runtime(language)
    markers = {lang: f"ev{uuid.uuid4().hex[:13]}" for lang in languages}
    jobs = []
    for lang in languages:
        values = {"ATTACK": attack, "MARKER": markers[lang], "HOST": "127.0.0.1", "PORT": 9, "TARGETS": "x",
                  "PARENT": os.getpid(), **fill}  # fmt: skip
        program = (EVIL / f"evil.{EXT[lang]}").read_text()
        for key, value in values.items():
            program = program.replace(f"@{key}@", str(value))
        jobs.append((program, lang))
    results = dict(zip(languages, execute_many(jobs, limits, workers=2), strict=True))
    for lang, result in results.items():
        assert result.status != "sandbox-error", (lang, result)
        assert result.duration_s < limits.timeout_s + 5, (lang, result.duration_s)
    deadline = time.monotonic() + 5
    while any(_procs_with(m) for m in markers.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert {lang: _procs_with(m) for lang, m in markers.items() if _procs_with(m)} == {}, "processes outlived runs"
    return results


def _report(results: dict[str, ExecutionResult]) -> dict[str, tuple[str, str, str]]:
    return {lang: (r.status, r.detail, (r.stdout[-200:] + r.stderr[-300:]).strip()) for lang, r in results.items()}


def test_fork_bomb_in_every_language():
    results = run_evil_everywhere("fork", Limits(timeout_s=3, max_procs=16))
    assert {lang: r.status for lang, r in results.items() if r.status not in ("fail", "timeout")} == {}, _report(
        results
    )


def test_memory_bomb_in_every_language_reports_memory():
    results = run_evil_everywhere("memory", Limits(timeout_s=20, memory_mb=256))
    assert {lang: r.status for lang, r in results.items() if r.status != "memory"} == {}, _report(results)


def test_infinite_loop_in_every_language_times_out():
    results = run_evil_everywhere("loop", Limits(timeout_s=1))
    assert {lang: r.status for lang, r in results.items() if r.status != "timeout"} == {}, _report(results)


def test_huge_output_in_every_language_is_capped():
    results = run_evil_everywhere("output", Limits(timeout_s=10, max_output_bytes=10_000))
    for lang, r in results.items():
        assert r.status == "fail" and "output over" in r.detail, (lang, r.status, r.detail)
        assert len(r.stdout) < 10_000 + 100, lang


@needs_namespace
def test_network_in_every_language_is_unreachable():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        loopback = run_evil_everywhere("connect", Limits(timeout_s=15), PORT=server.getsockname()[1])
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing ever connected
    public = run_evil_everywhere("connect", Limits(timeout_s=15), HOST="192.0.2.1", PORT=80)  # TEST-NET-1
    for results in (loopback, public):
        for lang, r in results.items():
            assert r.status == "fail" and "blocked" in r.stdout + r.stderr, (lang, r.status, r.stdout, r.stderr[-300:])
            assert "connected" not in r.stdout, lang


@needs_namespace
def test_no_writes_outside_the_run_dir_in_every_language(tmp_path):
    name = f"codecurate-evil-{uuid.uuid4().hex}"
    targets = [Path.home() / name, Path("/tmp") / name, Path("/var/tmp") / name, Path("/dev/shm") / name]
    targets.append(tmp_path / name)
    results = run_evil_everywhere("write", Limits(timeout_s=15), TARGETS=":".join(map(str, targets)))
    assert [t for t in targets if t.exists()] == []
    for lang, r in results.items():
        assert r.status == "fail", (lang, r.status, r.stdout[-500:])
        assert r.stdout.count("blocked") == len(targets), (lang, r.stdout[-500:])


@needs_namespace
def test_killing_the_parent_fails_in_every_language():
    results = run_evil_everywhere("kill", Limits(timeout_s=15))
    for lang, r in results.items():
        assert r.status == "fail" and r.stdout.count("blocked") == 2, (lang, r.status, r.stdout[-300:])
