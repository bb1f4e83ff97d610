"""The generate loop's LLM rounds on a Ray Data actor pool (``codecurate generate ... --executor ray``).

    codecurate generate coreset.jsonl -o out.jsonl --executor ray --ray-gpus-per-worker 1 \\
        --backend vllm --model Qwen/Qwen2.5-Coder-7B-Instruct

The driver (``loop.run``) keeps planning, resume, seed tests, the append-only output files, the memory folder
and finalize. Only the rounds move: ``from_items(todo)`` → ``map_batches(RoundWorker)`` with one actor per
model replica. A worker builds its backends once, then runs each batch's rounds to completion (``rounds.run_round``:
the same steps as a local run, retries up to ``--max-attempts``) and returns every finished try, every memory entry
and its token counts as rows (accepted, rejected and unvalidated tries under their sink's name). The driver
writes rows as they stream in, so a crash loses only in-flight batches and a rerun skips the finished
(seed, task) keys exactly as a local run does.

Few-shot memory is per worker: each starts from the driver's pools as they were when the job started and then
learns only from its own batches (the driver's memory folder still gets every entry).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from codecurate.errors import UserError
from codecurate.generate.config import GenerateConfig
from codecurate.generate.examples import Example
from codecurate.generate.llms import load_backends
from codecurate.generate.memory import ALL, Memory
from codecurate.generate.rounds import Round, Sinks, run_round
from codecurate.io import dumps
from codecurate.llm.base import Backend
from codecurate.timer import Timings

log = logging.getLogger(__name__)


class _Collect:
    """A `Sink` that queues records under a name, for the worker to return as rows."""

    def __init__(self, kind: str, rows: list[tuple[str, dict]]):
        self.kind, self.rows = kind, rows

    def write(self, record: dict[str, Any]) -> None:
        self.rows.append((self.kind, record))


class _WorkerMemory(Memory):
    """In-memory pools that also queue each new entry, so the driver can persist it to the memory folder."""

    def __init__(self, cfg: GenerateConfig, entries: list[tuple[str, dict, bool]], rows: list[tuple[str, dict]]):
        super().__init__(None, cfg.memory.pool_size, cfg.memory.per_language_memory)
        for task, entry, good in entries:
            self._remember(task, entry, good)
        self.rows = rows

    def add(self, task: str, entry: dict[str, Any], good: bool) -> None:
        super().add(task, entry, good)
        self.rows.append(("memory", {"task": task, "good": good, "entry": entry}))


def _given(backend: Backend, disc: Backend | None) -> tuple[Backend, Backend | None]:
    return backend, disc


class RoundWorker:
    """One actor of the pool: ``batch["item"]`` (planned Examples as JSON) in, ``{"sink", "data"}`` rows out."""

    def __init__(
        self,
        cfg: GenerateConfig,
        templates: dict,
        make_backends: Callable[[], tuple[Backend, Backend | None]],
        memory: list[tuple[str, dict, bool]],
    ):
        backend, disc = make_backends()
        self.rows: list[tuple[str, dict]] = []
        sinks = Sinks(*(_Collect(kind, self.rows) for kind in ("accepted", "rejected", "unvalidated")))
        mem = _WorkerMemory(cfg, memory, self.rows)
        self.round = Round(cfg, templates, backend, disc, mem, sinks, Timings())

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        queue = [Example(**json.loads(text)) for text in batch["item"]]
        rnd = self.round
        tokens, timings = dict(rnd.tokens), dict(rnd.timings)
        # Retries stay in this worker (its memory has seen the failure); a batch returns only finished items.
        while queue:
            queue = [planned.next_attempt() for planned, done in run_round(queue, rnd) if not done]
        stats = {
            "tokens": {k: v - tokens.get(k, 0) for k, v in rnd.tokens.items()},
            "timings": {k: v - timings.get(k, 0.0) for k, v in rnd.timings.items()},
        }
        rows, self.rows[:] = [*self.rows, ("stats", stats)], []
        return {"sink": [kind for kind, _ in rows], "data": [dumps(data) for _, data in rows]}


def pool_entries(memory: Memory) -> list[tuple[str, dict, bool]]:
    """The driver's pools as (task, entry, good), oldest first, to seed each worker's memory."""
    return [(task, e, good) for (task, key, good), pool in memory.pools.items() if key == ALL for e in pool]


def _vllm_tensor_parallel(cfg: GenerateConfig) -> int:
    m = cfg.models
    return int(m.backend_options.get("tensor_parallel_size", 1)) if m.backend == "vllm" else 1


def _placement_group_args(tp: int) -> dict[str, Any]:
    """Reserve `tp` GPUs on one node for a worker whose vLLM engine starts its own Ray workers inside them."""
    import ray
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    pg = ray.util.placement_group([{"GPU": 1, "CPU": 1}] * tp, strategy="STRICT_PACK")
    return {"scheduling_strategy": PlacementGroupSchedulingStrategy(pg, placement_group_capture_child_tasks=True)}


def pool_args(cfg: GenerateConfig, resources: dict[str, float]) -> dict[str, Any]:
    """`map_batches` keywords: pool size and per-actor resources for this config and cluster."""
    tp = _vllm_tensor_parallel(cfg)
    gpus = resources.get("GPU", 0.0)
    per_worker = cfg.ray.ray_gpus_per_worker
    workers = cfg.ray.ray_workers
    if not workers:
        if per_worker > 0:
            workers = int(gpus // per_worker)
        elif tp > 1:
            workers = int(gpus // tp)
        else:  # Ray gives a 1-CPU actor one torch thread (OMP_NUM_THREADS=1), so one actor per core
            workers = int(resources.get("CPU", 1))
        if workers < 1:
            raise UserError(f"the Ray cluster has {gpus:g} GPUs: too few for one LLM worker")
    import ray.data

    pool = ray.data.ActorPoolStrategy(size=workers)
    args: dict[str, Any] = {"compute": pool, "num_cpus": 1, "num_gpus": per_worker}
    if tp > 1 and per_worker == 0:
        args["ray_remote_args_fn"] = functools.partial(_placement_group_args, tp)
    return args


def run_on_ray(
    cfg: GenerateConfig,
    todo: list[Example],
    templates: dict,
    memory: Memory,
    sinks: Sinks,
    timings: Timings,
    backend: Backend | None = None,
    disc_backend: Backend | None = None,
) -> dict[str, int]:
    """Run the rounds of `todo` on a Ray actor pool, writing each finished try as it arrives; returns token counts."""
    from tqdm.auto import tqdm

    from codecurate.raycluster import connect

    tokens: Counter = Counter({"prompt": 0, "completion": 0, "requests": 0})
    if not todo:  # a finished run resumed: no need to start or join a cluster
        return dict(tokens)
    ray = connect(cfg.ray.ray_address or None)
    make_backends: Callable[[], tuple[Backend, Backend | None]]
    if backend is not None:
        make_backends = functools.partial(_given, backend, disc_backend)
    else:
        options = cfg.models.backend_options
        if _vllm_tensor_parallel(cfg) > 1 and "distributed_executor_backend" not in options:
            # Inside a Ray actor vLLM must spread its tensor-parallel ranks over Ray, in the worker's placement group.
            models = dataclasses.replace(cfg.models, backend_options=options | {"distributed_executor_backend": "ray"})
            cfg = dataclasses.replace(cfg, models=models)
        make_backends = functools.partial(load_backends, cfg)
    args = pool_args(cfg, ray.cluster_resources())
    log.info("Ray: %d items on %d LLM workers (%g GPUs each)", len(todo), args["compute"].max_size, args["num_gpus"])
    ds = ray.data.from_items([{"item": dumps(ex.planned())} for ex in todo])
    ds = ds.map_batches(
        RoundWorker,
        batch_size=cfg.batch_size,
        fn_constructor_kwargs={
            "cfg": cfg,
            "templates": templates,
            "make_backends": make_backends,
            "memory": pool_entries(memory),
        },
        **args,
    )
    done: set[tuple[str, str]] = set()
    with timings("ray"), tqdm(total=len(todo), desc="generate (ray)", unit="item") as bar:
        try:
            for row in ds.iter_rows():
                kind, data = row["sink"], json.loads(row["data"])
                if kind == "memory":
                    memory.add(data["task"], data["entry"], data["good"])
                elif kind == "stats":
                    tokens.update(data["tokens"])
                    for name, seconds in data["timings"].items():
                        timings[name] = round(timings.get(name, 0.0) + seconds, 3)
                else:
                    getattr(sinks, kind).write(data)
                    item = (data["seed_id"], data["task"])  # several sampled candidates finish one item once
                    if item not in done and (data["verdict"] == "accept" or data["attempt"] >= cfg.max_attempts):
                        done.add(item)
                        bar.update(1)
        except Exception as e:
            if (err := _user_error(e)) is e:
                raise
            raise err from None
    return dict(tokens)


def _user_error(e: Exception) -> Exception:
    """A UserError raised inside a worker (e.g. a model that cannot load) reaches the driver wrapped by Ray."""
    seen = e
    for _ in range(8):  # follow .cause / __cause__ a few levels: task errors wrap actor errors wrap ours
        if isinstance(seen, UserError):
            return seen
        nxt = getattr(seen, "cause", None) or seen.__cause__
        if nxt is None:
            break
        seen = nxt
    text = str(e)
    if "UserError" in text:  # actor construction failures carry the original only as text
        line = next((x for x in text.splitlines() if "UserError:" in x), "")
        return UserError(line.split("UserError:", 1)[1].strip() or text.splitlines()[0])
    return e
