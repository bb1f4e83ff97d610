"""The generator and discriminator a config asks for, loaded (locally, in a Ray worker, or on first use)."""

from __future__ import annotations

import functools

from codecurate.generate.config import GenerateConfig
from codecurate.llm.base import Backend, Request, Response


def backend_options(cfg: GenerateConfig, kind: str, given: dict) -> dict:
    # --batch-size is the model's batch too, unless backend_options says otherwise (servers batch themselves).
    if kind == "openai" and cfg.models.base_url:  # --base-url (or a top-level YAML base_url) wins over backend_options
        given = {**given, "base_url": cfg.models.base_url}
    return {"batch_size": cfg.batch_size, **given} if kind == "transformers" else given


def load_backends(cfg: GenerateConfig) -> tuple[Backend, Backend | None]:
    """(generator, discriminator): the generator again for ``discriminator: same`` on the same backend, None for
    ``none``."""
    from codecurate.llm import load_backend

    m = cfg.models
    options = functools.partial(backend_options, cfg)
    gen = load_backend(m.backend, m.model, **options(m.backend, m.backend_options))
    if m.discriminator == "none":
        return gen, None
    kind = m.disc_backend or m.backend
    if m.discriminator == "same" and kind == m.backend and not m.disc_backend_options:
        return gen, gen
    model = m.model if m.discriminator == "same" else m.discriminator
    return gen, load_backend(kind, model, **options(kind, m.disc_backend_options or m.backend_options))


class LazyBackend:
    """The generator, loaded on first use: a Ray driver needs it only for seed tests not cached yet."""

    def __init__(self, cfg: GenerateConfig):
        self.cfg = cfg
        self.name = f"{cfg.models.backend}:{cfg.models.model}"
        self._backend: Backend | None = None

    def complete(self, requests: list[Request]) -> list[Response]:
        if self._backend is None:
            from codecurate.llm import load_backend

            m = self.cfg.models
            self._backend = load_backend(m.backend, m.model, **backend_options(self.cfg, m.backend, m.backend_options))
        return self._backend.complete(requests)
