"""The operator's faults: two runs on one output, damaged caches, full / read-only / forbidden places, a flaky server.

Everything here is real: `codecurate` subprocesses, flock, tmpfs mounts in the test's own mount namespace
(``unshare -m``), HTTP on 127.0.0.1. Each fault is followed by a rerun that must end like an undisturbed run.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
from test_backends import FakeOpenAI
from test_curate_cli import write_embeddings
from test_generate_e2e import MORE
from test_loop import SEEDS, lines, write_seeds

from codecurate.cli import main
from codecurate.generate.loop import GenerateConfig
from codecurate.generate.loop import run as generate_run

HOST = socket.gethostname()
HOLD = (
    "import sys, time\nfrom codecurate.locks import output_lock\n"
    "with output_lock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(600)\n"
)


def codecurate(*args: str, timeout: float = 300, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = os.environ | {"TQDM_DISABLE": "1"}
    cmd = [*prefix, sys.executable, "-m", "codecurate", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def hold_lock(output: Path) -> subprocess.Popen:
    """Another process holding `output`'s lock (as a running stage would)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(output)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def one_error_line(stderr: str) -> str:
    """The run's error: exactly one line (logging warnings aside), never a traceback."""
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1, stderr
    return errors[0]


def keys(path: Path) -> list[tuple]:
    return [(r["seed_id"], r["task"], r["attempt"]) for r in lines(path)]


def write_big_pool(path: Path, n: int = 40) -> None:
    """Seed records with long code, so the coreset is tens of KB (bigger than the room left on a tiny disk)."""
    body = "".join(f"    y = x + {j}  # padding line {j}\n" for j in range(40))
    recs = [{"id": f"r{i}", "code": f"def f{i}(x):\n{body}    return x * {i}\n", "language": "python"}
            for i in range(n)]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))


# ---------------------------------------------------------------------------------------------------------------
# One writer per output


def gen_config(tmp_path: Path, server: FakeOpenAI, **extra: object) -> Path:
    options = {"base_url": server.url, "concurrency": 1, "max_retries": 0} | extra
    config = tmp_path / "gen.yaml"
    config.write_text(
        "generate:\n  backend: openai\n  tasks_per_seed: 2\n  batch_size: 1\n  decontaminate_with: []\n"
        f"  backend_options: {json.dumps(options)}\n"
    )
    return config


def test_two_generate_runs_on_one_output_the_second_is_refused_at_once(tmp_path: Path) -> None:
    server = FakeOpenAI(delay=0.3)
    try:
        seeds = write_seeds(tmp_path / "seeds.jsonl", SEEDS[:4] + MORE)
        config = gen_config(tmp_path, server)
        ref = tmp_path / "ref" / "inst.jsonl"
        done = codecurate("generate", str(seeds), "-o", str(ref), "--config", str(config), "--model", "ok", "-q")
        assert done.returncode == 0, done.stderr
        out = tmp_path / "run" / "inst.jsonl"
        args = [sys.executable, "-m", "codecurate", "generate", str(seeds), "-o", str(out), "--config", str(config),
                "--model", "slow", "-q"]  # fmt: skip
        first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=os.environ | {"TQDM_DISABLE": "1"})  # fmt: skip
        deadline = time.time() + 120
        while not lines(out) and time.time() < deadline:  # the first run is writing
            time.sleep(0.05)
        assert lines(out), "the first run should have started writing"
        start = time.perf_counter()
        second = codecurate("generate", str(seeds), "-o", str(out), "--config", str(config), "--model", "slow", "-q")
        refused_in = time.perf_counter() - start
        assert first.poll() is None, "the first run must still be going when the second is refused"
        assert second.returncode == 2
        line = one_error_line(second.stderr)
        assert f"{out}: in use by pid {first.pid} on {HOST} since " in line
        assert server.hits["slow"] and refused_in < 60  # at once: no model call, only the interpreter start

        _, err = first.communicate(timeout=300)
        assert first.returncode == 0, err
        assert sorted(keys(out)) == sorted(keys(ref))  # the first run's output is intact
        rejected = out.with_name("inst.rejected.jsonl")
        assert sorted(keys(rejected)) == sorted(keys(ref.with_name("inst.rejected.jsonl")))
        assert not list(out.parent.glob("*.lock")) and not list(out.parent.glob("*/*.lock"))
    finally:
        server.close()


def test_curate_refused_while_another_process_holds_the_output_then_takes_over_from_a_killed_one(
    tmp_path: Path,
) -> None:
    write_big_pool(tmp_path / "seeds.jsonl")
    write_embeddings(tmp_path / "emb.npy", 40)
    args = [str(tmp_path / "seeds.jsonl"), "--embeddings", str(tmp_path / "emb.npy"), "-n", "10", "-q"]
    assert main(["curate", *args, "-o", str(tmp_path / "ref.jsonl")]) == 0
    out = tmp_path / "run" / "coreset.jsonl"

    holder = hold_lock(out)
    try:
        got = codecurate("curate", *args, "-o", str(out))
        assert got.returncode == 2
        assert f"{out}: in use by pid {holder.pid} on {HOST} since " in one_error_line(got.stderr)
        assert not out.exists()
    finally:
        holder.kill()  # SIGKILL: the lock file stays behind with its name in it
        holder.wait()
    left = json.loads((tmp_path / "run" / "coreset.jsonl.lock").read_text())
    assert left["pid"] == holder.pid and left["host"] == HOST

    got = codecurate("curate", *args, "-o", str(out))
    assert got.returncode == 0, got.stderr
    assert f"taking over the lock left by pid {holder.pid} on {HOST} since {left['since']}, which is no longer " \
           "running" in got.stderr  # fmt: skip
    assert out.read_bytes() == (tmp_path / "ref.jsonl").read_bytes()
    assert not (tmp_path / "run" / "coreset.jsonl.lock").exists()


def test_lock_from_another_host_is_refused_with_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write_big_pool(tmp_path / "seeds.jsonl")
    write_embeddings(tmp_path / "emb.npy", 40)
    out = tmp_path / "coreset.jsonl"
    lock = tmp_path / "coreset.jsonl.lock"
    lock.write_text(json.dumps({"pid": 4242, "host": "node-17", "since": "2026-01-01T00:00:00+0000"}))
    rc = main(["curate", str(tmp_path / "seeds.jsonl"), "--embeddings", str(tmp_path / "emb.npy"), "-n", "5",
               "-o", str(out), "-q"])  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"codecurate curate: error: {out}: locked by pid 4242 on node-17 since 2026-01-01T00:00:00+0000 ({lock}); "
        f"this host cannot tell whether that run still goes: if it does not, delete {lock} and rerun"
    )
    assert not out.exists() and lock.exists()


def test_pipeline_locks_its_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run_dir = tmp_path / "run"
    config = tmp_path / "p.yaml"
    config.write_text(f"run_dir: {run_dir}\nstages: [curate]\nreport: false\n")
    holder = hold_lock(run_dir)
    try:
        assert main(["pipeline", "--config", str(config), "-q"]) == 2
        err = capsys.readouterr().err
        assert f"codecurate pipeline: error: {run_dir}: in use by pid {holder.pid} on {HOST} since " in err
        assert not run_dir.exists()
    finally:
        holder.kill()
        holder.wait()


# ---------------------------------------------------------------------------------------------------------------
# Damaged resumable files (seed tests, memory pools, outputs, eval samples)


def damage_a_line(path: Path) -> int:
    """Overwrite one record (a middle one when there are three or more) with garbage of the same length."""
    raw = path.read_bytes().splitlines(keepends=True)
    assert len(raw) >= 2, f"{path} too short to damage"
    i = len(raw) // 2 if len(raw) >= 3 else 0
    raw[i] = b"\x00\xff" * ((len(raw[i]) - 1) // 2) + b"\x00" * ((len(raw[i]) - 1) % 2) + b"\n"
    path.write_bytes(b"".join(raw))
    return i + 1


def test_generate_heals_damaged_outputs_seed_tests_and_memory(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = FakeOpenAI()
    try:
        seeds = write_seeds(tmp_path / "seeds.jsonl", SEEDS[:4] + MORE)
        options = {"base_url": server.url, "concurrency": 1, "max_retries": 0}

        def cfg(out: Path) -> GenerateConfig:
            return GenerateConfig(input=str(seeds), output=str(out), backend="openai", model="ok",
                                  backend_options=options, tasks_per_seed=2, batch_size=2, decontaminate_with=[],
                                  validate=True)  # fmt: skip

        ref = tmp_path / "ref" / "inst.jsonl"
        generate_run(cfg(ref))
        shutil.copytree(ref.parent, tmp_path / "run")
        out = tmp_path / "run" / "inst.jsonl"
        files = [out, out.with_name("inst.rejected.jsonl"), out.with_name("inst.seedtests.jsonl")]
        files += sorted(out.with_name("inst.memory").glob("*.jsonl"))
        damaged = [p for p in files if len(lines(p)) >= 2]  # ("ok" answers: the rejected file may be empty)
        assert out in damaged and files[2] in damaged and any(".memory" in str(p) for p in damaged)
        where = {p: damage_a_line(p) for p in damaged}
        with caplog.at_level("WARNING"):
            generate_run(cfg(out))
        for p, line in where.items():
            assert f"{p}: dropped 1 damaged line(s) (line {line}); their work is done again" in caplog.messages
        # The accepted set equals the undamaged run's; each seed has its seed tests once.
        assert sorted(keys(out)) == sorted(keys(ref))
        seed_ids = [r["seed_id"] for r in lines(out.with_name("inst.seedtests.jsonl"))]
        assert sorted(seed_ids) == sorted(r["seed_id"] for r in lines(ref.with_name("inst.seedtests.jsonl")))
        tries = keys(out) + keys(out.with_name("inst.rejected.jsonl"))
        assert len(tries) == len(set(tries))
    finally:
        server.close()


def test_eval_heals_a_damaged_samples_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from codecurate.eval.harness import EvalConfig
    from codecurate.eval.harness import run as eval_run

    def summary(out: Path) -> dict:
        eval_run(EvalConfig(backend="canonical", benchmarks=["humaneval"], limit=3, output=str(out)))
        return json.loads((out / "summary.json").read_text())["benchmarks"]["humaneval"]

    first = summary(tmp_path / "ev")
    samples = tmp_path / "ev" / "samples.jsonl"
    before = [(r["task_id"], r["sample"], r["status"]) for r in lines(samples)]
    line = damage_a_line(samples)
    with caplog.at_level("WARNING"):
        again = summary(tmp_path / "ev")
    assert f"{samples}: dropped 1 damaged line(s) (line {line}); their work is done again" in caplog.messages
    assert sorted((r["task_id"], r["sample"], r["status"]) for r in lines(samples)) == sorted(before)
    assert {k: v for k, v in again.items() if k != "wall_time_s"} == {
        k: v for k, v in first.items() if k != "wall_time_s"
    }


def test_damaged_model_conversion_cache_is_detected(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    from codecurate.models import converted_model_problem

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama"}')
    (folder / "tokenizer_config.json").write_text("{}")
    save_file({"w": torch.ones(64, 64)}, str(folder / "model.safetensors"))
    assert converted_model_problem(folder) is None
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[:-100])
    assert "model.safetensors: " in converted_model_problem(folder) and "its header says" in (
        converted_model_problem(folder) or ""
    )
    weights.write_bytes(data)
    (folder / "config.json").write_text('{"model_type": ')
    assert converted_model_problem(folder).startswith("config.json: ")


@pytest.mark.slow
def test_damaged_smollm2_conversion_is_converted_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from codecurate.models import converted_model_problem, resolve_llm

    monkeypatch.setenv("CODECURATE_CACHE", str(tmp_path))
    folder = Path(resolve_llm("smollm2"))
    weights = next(folder.glob("*.safetensors"))
    size = weights.stat().st_size
    with open(weights, "r+b") as fh:
        fh.truncate(size // 2)
    assert converted_model_problem(folder) is not None
    assert Path(resolve_llm("smollm2")) == folder
    assert converted_model_problem(folder) is None and weights.stat().st_size == size


# ---------------------------------------------------------------------------------------------------------------
# Full, read-only and forbidden places


def _mount_reason() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = tempfile.mkdtemp()
    try:
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            f"mount -t tmpfs -o size=64k tmpfs {probe}"], capture_output=True, text=True)  # fmt: skip
        return None if r.returncode == 0 else f"cannot mount a tmpfs in a new mount namespace: {r.stderr.strip()}"
    finally:
        os.rmdir(probe)


MOUNT_REASON = _mount_reason()
needs_mount = pytest.mark.skipif(MOUNT_REASON is not None, reason=MOUNT_REASON or "")


def in_namespace(script: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a bash script in a private mount namespace: its tmpfs mounts vanish with it."""
    env = os.environ | {"TQDM_DISABLE": "1"}
    return subprocess.run(["unshare", "-m", "--propagation", "private", "bash", "-c", "set -u\n" + script],
                          capture_output=True, text=True, timeout=timeout, env=env)  # fmt: skip


@needs_mount
def test_curate_onto_a_full_tmpfs_one_line_then_resumes_when_space_is_freed(tmp_path: Path) -> None:
    write_big_pool(tmp_path / "seeds.jsonl")
    write_embeddings(tmp_path / "emb.npy", 40)
    args = f"{tmp_path}/seeds.jsonl --embeddings {tmp_path}/emb.npy -n 30 -q"
    assert main(["curate", *args.split(), "-o", str(tmp_path / "ref.jsonl")]) == 0
    assert (tmp_path / "ref.jsonl").stat().st_size > 40_000
    mnt, py = tmp_path / "mnt", sys.executable
    mnt.mkdir()
    r = in_namespace(f"""
mount -t tmpfs -o size=256k tmpfs {mnt}
head -c {256 * 1024 - 16 * 1024} /dev/zero > {mnt}/filler
{py} -m codecurate curate {args} -o {mnt}/out/coreset.jsonl 2> {tmp_path}/err1; echo $? > {tmp_path}/rc1
ls -A {mnt}/out > {tmp_path}/ls1
rm {mnt}/filler
{py} -m codecurate curate {args} -o {mnt}/out/coreset.jsonl 2> {tmp_path}/err2; echo $? > {tmp_path}/rc2
cp -a {mnt}/out {tmp_path}/copied
""")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "rc1").read_text().strip() == "2"
    line = one_error_line((tmp_path / "err1").read_text())
    assert line.startswith(f"codecurate curate: error: {mnt}/out/coreset.jsonl: no space left on device while ")
    assert "free some space and rerun the same command" in line
    assert (tmp_path / "ls1").read_text() == ""  # no partial output, no temp file, no lock left
    assert (tmp_path / "rc2").read_text().strip() == "0", (tmp_path / "err2").read_text()
    assert (tmp_path / "copied" / "coreset.jsonl").read_bytes() == (tmp_path / "ref.jsonl").read_bytes()


@needs_mount
def test_generate_fills_a_tmpfs_mid_run_then_resumes_when_space_is_freed(tmp_path: Path) -> None:
    server = FakeOpenAI()
    try:
        seeds = write_seeds(tmp_path / "seeds.jsonl", SEEDS[:4] + MORE)
        config = gen_config(tmp_path, server)
        ref = tmp_path / "ref" / "inst.jsonl"
        common = f"generate {seeds} --config {config} --model ok -q"
        assert codecurate(*common.split(), "-o", str(ref)).returncode == 0
        # Room for about half of what the loop appends (tmpfs counts whole 4 KiB pages per file).
        pages = sum(-(-p.stat().st_size // 4096) for p in ref.parent.rglob("*") if p.is_file())
        mnt, py = tmp_path / "mnt", sys.executable
        mnt.mkdir()
        r = in_namespace(f"""
mount -t tmpfs -o size={pages // 2 * 4}k tmpfs {mnt}
{py} -m codecurate {common} -o {mnt}/out/inst.jsonl 2> {tmp_path}/err1; echo $? > {tmp_path}/rc1
cat {mnt}/out/inst.jsonl {mnt}/out/inst.rejected.jsonl 2>/dev/null | wc -l > {tmp_path}/done1
mount -o remount,size=16m {mnt}
{py} -m codecurate {common} -o {mnt}/out/inst.jsonl 2> {tmp_path}/err2; echo $? > {tmp_path}/rc2
cp -a {mnt}/out {tmp_path}/copied
""")
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "rc1").read_text().strip() == "2"
        line = one_error_line((tmp_path / "err1").read_text())
        assert f"codecurate generate: error: {mnt}/out/" in line and "no space left on device while " in line
        assert int((tmp_path / "done1").read_text()) > 0, "the full disk should stop the run midway"
        assert (tmp_path / "rc2").read_text().strip() == "0", (tmp_path / "err2").read_text()
        got = tmp_path / "copied" / "inst.jsonl"
        assert sorted(keys(got)) == sorted(keys(ref))
        tries = keys(got) + keys(got.with_name("inst.rejected.jsonl"))
        assert len(tries) == len(set(tries))
    finally:
        server.close()


@needs_mount
def test_read_only_output_one_line_then_resumes_when_writable(tmp_path: Path) -> None:
    write_big_pool(tmp_path / "seeds.jsonl")
    write_embeddings(tmp_path / "emb.npy", 40)
    args = f"{tmp_path}/seeds.jsonl --embeddings {tmp_path}/emb.npy -n 10 -q"
    assert main(["curate", *args.split(), "-o", str(tmp_path / "ref.jsonl")]) == 0
    mnt, py = tmp_path / "mnt", sys.executable
    mnt.mkdir()
    r = in_namespace(f"""
mount -t tmpfs -o size=1m tmpfs {mnt} && mkdir {mnt}/out && mount -o remount,ro {mnt}
{py} -m codecurate curate {args} -o {mnt}/out/coreset.jsonl 2> {tmp_path}/err1; echo $? > {tmp_path}/rc1
mount -o remount,rw {mnt}
{py} -m codecurate curate {args} -o {mnt}/out/coreset.jsonl 2> {tmp_path}/err2; echo $? > {tmp_path}/rc2
cp -a {mnt}/out {tmp_path}/copied
""")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "rc1").read_text().strip() == "2"
    line = one_error_line((tmp_path / "err1").read_text())
    assert line == (
        f"codecurate curate: error: {mnt}/out/coreset.jsonl.lock: read-only file system while writing "
        "the lock file; write somewhere writable or fix the permissions, then rerun the same command"
    )
    assert (tmp_path / "rc2").read_text().strip() == "0", (tmp_path / "err2").read_text()
    assert (tmp_path / "copied" / "coreset.jsonl").read_bytes() == (tmp_path / "ref.jsonl").read_bytes()


def test_forbidden_output_folder_one_line_then_resumes(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to drop CAP_DAC_OVERRIDE (as a plain user, chmod the folder instead)")
    write_big_pool(tmp_path / "seeds.jsonl")
    write_embeddings(tmp_path / "emb.npy", 40)
    args = [str(tmp_path / "seeds.jsonl"), "--embeddings", str(tmp_path / "emb.npy"), "-n", "10", "-q"]
    assert main(["curate", *args, "-o", str(tmp_path / "ref.jsonl")]) == 0
    locked_dir = tmp_path / "ro"
    locked_dir.mkdir()
    locked_dir.chmod(0o555)
    # Root without CAP_DAC_OVERRIDE obeys file modes like any user.
    no_override = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search")
    got = codecurate("curate", *args, "-o", str(locked_dir / "coreset.jsonl"), prefix=no_override)
    assert got.returncode == 2
    assert one_error_line(got.stderr) == (
        f"codecurate curate: error: {locked_dir}/coreset.jsonl.lock: permission denied while writing the lock file; "
        "write somewhere writable or fix the permissions, then rerun the same command"
    )
    locked_dir.chmod(0o755)
    got = codecurate("curate", *args, "-o", str(locked_dir / "coreset.jsonl"), prefix=no_override)
    assert got.returncode == 0, got.stderr
    assert (locked_dir / "coreset.jsonl").read_bytes() == (tmp_path / "ref.jsonl").read_bytes()


# ---------------------------------------------------------------------------------------------------------------
# A flaky server


class FlakyOpenAI(FakeOpenAI):
    """FakeOpenAI that answers at random with a 500, a hang past the client's timeout, a dropped connection,
    garbage JSON, or a good answer. After `max_requests` it only answers 500, so a run is bounded."""

    KINDS = ("500", "hang", "drop", "garbage", "ok")

    def __init__(self, seed: int, max_requests: int, hang_s: float):
        super().__init__()
        self.rng = random.Random(seed)
        self.max_requests, self.hang_s = max_requests, hang_s
        self.served: Counter = Counter()

    def handle(self, h, body: dict) -> None:
        with self.lock:
            over = sum(self.served.values()) >= self.max_requests
            kind = "500" if over else self.rng.choices(self.KINDS, weights=(2, 1, 1, 2, 6))[0]
            self.served[kind] += 1
        if kind == "500":
            return self.send(h, 500, {"error": "flaky"})
        if kind == "hang":
            time.sleep(self.hang_s)
            return self.send(h, 200, {})
        if kind == "drop":
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return None
        if kind == "garbage":
            data = b'{"choices": [{"message": {"content": "INSTRUC'
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
            return None
        return super().handle(h, body | {"model": "ok"})


def test_generate_against_a_flaky_server_accounts_for_every_seed_once(tmp_path: Path) -> None:
    server = FlakyOpenAI(seed=7, max_requests=400, hang_s=1.5)
    try:
        seeds = write_seeds(tmp_path / "seeds.jsonl", SEEDS[:4] + MORE)
        config = gen_config(tmp_path, server, concurrency=4, max_retries=2, timeout=0.5, backoff=0.01)
        out = tmp_path / "out" / "inst.jsonl"
        args = ["generate", str(seeds), "-o", str(out), "--config", str(config), "--model", "ok", "-q",
                "--batch-size", "4"]  # fmt: skip
        got = codecurate(*args, timeout=400)
        assert got.returncode == 0, got.stderr
        assert all(server.served[k] > 0 for k in FlakyOpenAI.KINDS), server.served  # every fault happened
        assert any(r.get("stage") == "backend" for r in lines(out.with_name("inst.rejected.jsonl")))

        accepted, rejected = lines(out), lines(out.with_name("inst.rejected.jsonl"))
        tries = [(r["seed_id"], r["task"], r["attempt"]) for r in accepted + rejected]
        assert len(tries) == len(set(tries)), "no try written twice"
        outcome: dict[tuple, list] = {}
        for r in accepted:
            outcome.setdefault((r["seed_id"], r["task"]), []).append("accepted")
        last_try: dict[tuple, int] = {}
        for r in rejected:
            last_try[(r["seed_id"], r["task"])] = max(last_try.get((r["seed_id"], r["task"]), 0), r["attempt"])
        for key, attempt in last_try.items():
            if attempt >= 2 and key not in outcome:  # max_attempts (2): given up, rejected for good
                outcome[key] = ["rejected"]
        report = json.loads(out.with_name("inst.report.json").read_text())
        assert len(outcome) == report["counts"]["items"], "every planned (seed, task) has an outcome"
        assert all(v in (["accepted"], ["rejected"]) for v in outcome.values()), "exactly one outcome each"
        planned_seeds = report["counts"]["seeds"] - report["counts"]["seeds_skipped"]
        assert len({seed for seed, _ in outcome}) == planned_seeds
        assert report["counts"]["written"] == len(accepted)

        served = sum(server.served.values())
        again = codecurate(*args, timeout=400)  # a rerun finds nothing left to do
        assert again.returncode == 0, again.stderr
        assert sum(server.served.values()) == served
        assert sorted(keys(out)) == sorted(r[:3] for r in [(a["seed_id"], a["task"], a["attempt"]) for a in accepted])
    finally:
        server.close()


@needs_mount
def test_a_full_disk_under_safetensors_is_recognised(tmp_path: Path) -> None:
    # Model saves (conversion cache, finetune) go through safetensors' Rust writer, whose error is no OSError.
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    snippet = (
        "import numpy as np, sys\nfrom safetensors.numpy import save_file\n"
        "from codecurate.io import disk_error, os_error_of\n"
        "try:\n    save_file({'w': np.ones((256, 1024), np.float32)}, sys.argv[1])\n"
        "except Exception as e:\n"
        "    print(type(e).__name__, '|', disk_error(os_error_of(e), sys.argv[1], 'saving a model'))\n"
    )
    r = in_namespace(f'mount -t tmpfs -o size=64k tmpfs {mnt}\n{sys.executable} -c "{snippet}" {mnt}/model.safetensors')
    assert r.returncode == 0, r.stderr
    kind, message = r.stdout.strip().split(" | ")
    assert kind != "OSError"
    assert message == (
        f"{mnt}/model.safetensors: no space left on device while saving a model; free some space and rerun "
        "the same command (finished work is kept)"
    )


def test_a_failed_run_leaves_no_lock_and_no_folder_behind(tmp_path: Path) -> None:
    write_big_pool(tmp_path / "seeds.jsonl", n=5)
    out = tmp_path / "new" / "deeper" / "coreset.jsonl"
    assert main(["curate", str(tmp_path / "seeds.jsonl"), "-n", "9", "-o", str(out), "-q"]) == 2  # -n > pool
    assert not (tmp_path / "new").exists()


@needs_mount
def test_embedding_cache_checks_free_space_before_embedding(tmp_path: Path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    snippet = """
import sys, numpy as np, torch
from codecurate.curate import embed
class Encoder:
    def encode(self, texts, **_):
        return torch.tensor(np.random.default_rng(0).standard_normal((len(texts), 8)), dtype=torch.float32)
embed.load_encoder = lambda *a, **k: Encoder()
try:
    embed.embed_texts([f't{i}' for i in range(20000)], backend='fp32', device='cpu', cache=sys.argv[1], chunk_size=1000)
except Exception as e:
    print(type(e).__name__, '|', e)
"""
    (tmp_path / "snippet.py").write_text(snippet)
    r = in_namespace(f"mount -t tmpfs -o size=128k tmpfs {mnt}\n{sys.executable} {tmp_path}/snippet.py {mnt}/cache")
    assert r.returncode == 0, r.stderr
    kind, message = r.stdout.strip().split(" | ")
    assert kind == "DiskError"
    assert message.startswith(f"{mnt}/cache/") and ": the embedding cache for 20000 texts needs 970.8 KB but only " \
        in message and message.endswith("is free there; free some space and rerun the same command (finished work " \
        "is kept)")  # fmt: skip
