"""Does a seed run alone? Static checks, then its program probed once in the sandbox.

    flags = check_runnable(seeds)      # [(runnable, reason)] per seed

"Runs alone" means: the seed's program (``codecurate.seedcode.seed_program``) defines without error, every
module-level name the function reads exists, and the function's name is callable. Seeds are probed in batches:
one sandboxed interpreter loads the imports they share once and forks a child per seed.
"""

from __future__ import annotations

import ast

from codecurate.seedcode import first_function, needed_names, seed_program, short_name, static_reason

# --------------------------------------------------------------------------------------

_PROBE = """import builtins as __cc_b, sys as __cc_s
__cc_missing = [n for n in {names!r} if n not in globals() and not hasattr(__cc_b, n)]
if __cc_missing:
    print("undefined names: " + ", ".join(__cc_missing), file=__cc_s.stderr)
if not callable(globals().get({name!r})):
    print("not callable: " + type(globals().get({name!r})).__name__, file=__cc_s.stderr)
assert not __cc_missing and callable(globals().get({name!r}))"""


# Runs in the sandbox: each seed program in a forked child of one interpreter (the imports the programs share are
# loaded once, before forking), its output to files, and one JSON line per seed. A child that hangs is killed.
_BATCH_RUNNER = r"""import json, os, signal, sys, time, types
seeds = json.load(open("probes.json"))
for module in sorted({m for s in seeds for m in s["imports"]}):
    try:
        saved = os.dup(1), os.dup(2)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1), os.dup2(null, 2)
        try:
            __import__(module)
        finally:
            os.dup2(saved[0], 1), os.dup2(saved[1], 2)
    except BaseException:
        pass
for i, seed in enumerate(seeds):
    out, err = f"c{i}.out", f"c{i}.err"
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
        os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
        sys.stdout = open(1, "w", closefd=False)
        sys.stderr = open(2, "w", closefd=False)
        code = 1
        try:
            with open(f"seed_{i}.py", "w") as f:
                f.write(seed["program"])
            module = types.ModuleType("__main__")
            module.__file__ = os.path.abspath(f"seed_{i}.py")
            sys.modules["__main__"] = module
            exec(compile(seed["program"], module.__file__, "exec"), module.__dict__)
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except BaseException:
            import traceback
            traceback.print_exc()
        sys.stdout.flush(), sys.stderr.flush()
        os._exit(code)
    deadline, status = time.monotonic() + seeds[i]["timeout"], None
    while status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = os.waitstatus_to_exitcode(st)
        elif time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            status = "timeout"
        else:
            time.sleep(0.002)
    tails = []
    for path in (out, err):
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 2000))
            tails.append(f.read().decode("utf-8", "replace"))
        os.remove(path)
    print("\n" + json.dumps({"i": i, "exit": status, "stdout": tails[0], "stderr": tails[1]}), flush=True)
"""


def _top_imports(program: str) -> list[str]:
    try:
        tree = ast.parse(program)
    except SyntaxError:
        return []
    names = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Import):
            names += [a.name for a in stmt.names]
        elif isinstance(stmt, ast.ImportFrom) and stmt.level == 0 and stmt.module:
            names.append(stmt.module)
    return names


def check_runnable(
    seeds: list[dict], timeout_s: float = 10.0, workers: int | None = None, batch_size: int = 40
) -> list[tuple[bool, str]]:
    """``(runnable, reason)`` per Python seed: static checks first, then its program run once in the sandbox with
    a probe appended (defines without error, every module-level name the function reads exists, ``name`` is
    callable), behind the per-run token of the test harness. Seeds are run ``batch_size`` to a sandbox run, each
    in its own forked process; a seed whose batch did not report (the batch crashed) is run alone. A probe that
    could not run (sandbox error) counts as not runnable, with its reason."""
    from codecurate.execute.harness import build_test_program, new_token

    out: list[tuple[bool, str]] = [(False, "")] * len(seeds)
    probes: list[tuple[int, str, str]] = []  # (seed index, program, token)
    for i, seed in enumerate(seeds):
        why = static_reason(seed)
        if why is not None:
            out[i] = (False, why)
            continue
        name = short_name(seed) or (getattr(first_function(seed.get("code") or ""), "name", "") or "")
        token = new_token()
        probe = _PROBE.format(names=sorted(needed_names(seed)), name=name)
        probes.append((i, build_test_program(seed_program(seed), [probe], "python", token), token))
    batches = [probes[k : k + batch_size] for k in range(0, len(probes), batch_size)] if batch_size > 1 else []
    reports = _run_batches(batches, timeout_s, workers)
    alone = [p for p in probes if p[0] not in reports]
    reports.update(_run_alone(alone, timeout_s, workers))
    for i, _, token in probes:
        out[i] = _judge(reports[i], token, timeout_s)
    return out


def _run_batches(batches: list[list[tuple[int, str, str]]], timeout_s: float, workers: int | None) -> dict[int, dict]:
    import json

    from codecurate.execute.sandbox import Limits, execute_many

    jobs = []
    for batch in batches:
        items = [{"program": p, "imports": _top_imports(p), "timeout": timeout_s} for _, p, _ in batch]
        jobs.append((_BATCH_RUNNER, "python", {"probes.json": json.dumps(items)}))
    # Output: one short line per seed; the whole batch may take each seed's timeout in the worst case.
    limits = Limits(timeout_s=timeout_s * max((len(b) for b in batches), default=1), max_output_bytes=4_000_000)
    reports: dict[int, dict] = {}
    for batch, result in zip(batches, execute_many(jobs, limits, workers), strict=True):
        for line in result.stdout.splitlines():
            if line.startswith('{"i": '):
                try:
                    rep = json.loads(line)
                    reports[batch[rep["i"]][0]] = rep
                except (ValueError, KeyError, IndexError, TypeError):
                    continue
    return reports


def _run_alone(probes: list[tuple[int, str, str]], timeout_s: float, workers: int | None) -> dict[int, dict]:
    from codecurate.execute.sandbox import Limits, execute_many

    results = execute_many([(p, "python") for _, p, _ in probes], Limits(timeout_s=timeout_s), workers)
    return {
        i: {"exit": 0 if r.status == "pass" else r.status, "stdout": r.stdout, "stderr": r.stderr or r.detail}
        for (i, _, _), r in zip(probes, results, strict=True)
    }


def _judge(report: dict, token: str, timeout_s: float) -> tuple[bool, str]:
    """Runnable only when the program exited 0 and printed this run's pass mark with 1/1."""
    from codecurate.execute.harness import last_line, mark_line

    passed = f"{mark_line(token)} 1/1" in report.get("stdout", "").splitlines()
    if report.get("exit") == 0 and passed:
        return True, ""
    if report.get("exit") == "timeout":
        return False, f"timeout: still running after {timeout_s:g} s"
    detail = last_line(report.get("stderr", "")) or ("program exited before its probe ran" if not passed else "")
    return False, f"fail: {detail or report.get('exit')}"[:200]
