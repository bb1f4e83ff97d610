"""The arithmetic behind docs/scale.md: the FLOP count per text matches the real encoder's weights."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import REPO


def _bench(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_flops_per_text_counts_every_layer_weight_of_minilm() -> None:
    import torch
    from transformers import AutoModel

    from codecurate.models import resolve_encoder

    model = AutoModel.from_pretrained(resolve_encoder("minilm"))
    cfg = model.config
    # Weights that multiply every token: the Linear layers inside the encoder blocks (embeddings are lookups).
    weights = sum(m.weight.numel() for m in model.encoder.modules() if isinstance(m, torch.nn.Linear))
    seq = 256
    attention = seq * cfg.num_hidden_layers * 4 * seq * cfg.hidden_size  # QK^T and AV, 2 FLOPs per multiply-add
    expected = 2 * weights * seq + attention
    got = _bench("encoder_scale").flops_per_text(cfg.num_hidden_layers, cfg.hidden_size, cfg.intermediate_size, seq)
    assert got == pytest.approx(expected, rel=1e-9)
    assert got == pytest.approx(6.04e9, rel=0.01)  # the per-text figure docs/scale.md uses


def test_kmeans_bench_rows_are_unit_vectors_with_fixed_seed() -> None:
    import numpy as np

    km = _bench("kmeans_scale")
    a, b = km.unit_rows(1000, 16, 10), km.unit_rows(1000, 16, 10)
    assert a.dtype == np.float32 and a.shape == (1000, 16)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(a, b)
