"""Texts to L2-normalised float32 embeddings with sentence-transformers, cached on disk so reruns are free.

Cache layout (one folder per encoder setting, so a different model, precision or sequence length never mixes)::

    <cache>/<key>/info.json            encoder, backend, max_seq_length, dim
    <cache>/<key>/<chunk>.npy          (m, d) float32, normalised rows
    <cache>/<key>/<chunk>.keys.npy     (m, 16) uint8: sha256(text)[:16] of each row, written last (the commit mark);
                                   <chunk> is sha256 of these keys, so a damaged keys file is detected

Texts are deduplicated by hash and the missing ones embedded in chunks of ``chunk_size``; each chunk is written
atomically as soon as it is done. A killed run loses at most the chunk in flight, and the rerun forms the same
remaining chunks in the same order, so it produces the same vectors as an uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from codecurate.curate.shards import check_vectors
from codecurate.errors import UserError
from codecurate.io import atomic_write, ensure_free_space, sha256_text
from codecurate.models import DEFAULT_ENCODER, cache_dir, resolve_encoder

log = logging.getLogger(__name__)

EmbedField = Literal["code", "docstring", "both"]
Backend = Literal["auto", "fp32", "bf16", "onnx", "onnx-int8", "openvino", "openvino-bf16", "openvino-int8"]


@dataclass
class EncoderSettings:
    """Which encoder embeds the texts and how: a section of the curate config (flags ``--encoder``,
    ``--encoder-backend``, ``--device``, ``--batch-size``, ``--max-seq-length``), handed whole to `embed_texts` and
    `embed_ray.embed_shards_ray`."""

    encoder: str = field(default=DEFAULT_ENCODER, metadata={"help": "sentence-transformers model name or folder"})
    encoder_backend: Backend = field(
        default="auto",
        metadata={"help": "fp32/bf16 (PyTorch) or an exported CPU graph: onnx, onnx-int8, openvino, openvino-int8 "
                  "(extras [onnx], [openvino]; exported once into the cache). auto = bf16 on GPU; on CPU the fastest "
                  "installed backend keeping >= 95% of fp32's nearest neighbours on a calibration sample (cached)"},
    )  # fmt: skip
    device: str = field(default="auto", metadata={"help": "cpu, cuda, cuda:1, or auto"})
    batch_size: int = field(default=32, metadata={"help": "encoder batch size"})
    max_seq_length: int = field(default=0, metadata={"help": "truncate texts to this many tokens (0: model's own)"})


def encoder_settings(settings: EncoderSettings | None = None, **fields: Any) -> EncoderSettings:
    """`settings` (default: the defaults) with some fields replaced, for callers that name them one by one;
    ``backend=`` is accepted for ``encoder_backend=``. An unknown name is a TypeError."""
    if "backend" in fields:
        fields["encoder_backend"] = fields.pop("backend")
    return dataclasses.replace(settings or EncoderSettings(), **fields)


def texts_for(records: Sequence[dict], field: EmbedField = "code") -> list[str]:
    """The text to embed per record: its code, its docstring, or docstring then code without the docstring."""
    if field == "code":
        return [r["code"] for r in records]
    if field == "docstring":
        return [r.get("docstring") or "" for r in records]
    return [f"{r.get('docstring') or ''}\n{r.get('code_no_docstring') or r['code']}".strip() for r in records]


def text_digests(texts: Sequence[str]) -> np.ndarray:
    """(N, 16) uint8: the first 16 bytes of sha256 of each text (collisions are astronomically unlikely)."""
    out = np.empty((len(texts), 16), dtype=np.uint8)
    for i, t in enumerate(texts):
        out[i] = np.frombuffer(hashlib.sha256(t.encode("utf-8", "surrogatepass")).digest()[:16], dtype=np.uint8)
    return out


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_backend(backend: Backend, device: str, encoder: str = "minilm", max_seq_length: int = 0,
                    texts: Sequence[str] | None = None) -> str:  # fmt: skip
    """``auto`` is bf16 on a GPU; on CPU the fastest installed backend with >= 95% nearest-neighbour agreement with
    fp32 on a calibration sample of ``texts`` (the pool's distinct texts; without them, the stdlib), see
    curate/encoders.py; bf16 on CPUs with native bf16, else fp32, when no exported backend is installed or the
    pool is too small to pay for calibrating. An exported backend whose package is missing falls back with one
    warning."""
    from codecurate.curate import encoders

    if backend == "auto":
        from codecurate.curate import encoder_auto

        return encoder_auto.resolve_auto(encoder, device, max_seq_length, texts)
    return encoders.usable(backend) if backend in encoders.EXPORTED_BACKENDS else backend


def load_encoder(name: str, backend: str = "fp32", device: str = "cpu", max_seq_length: int = 0) -> Any:
    """A SentenceTransformer on `device` in the given precision; ``max_seq_length=0`` keeps the model's own."""
    import torch
    from sentence_transformers import SentenceTransformer

    if backend not in ("fp32", "bf16"):  # exported ONNX / OpenVINO backends (curate/encoders.py)
        from codecurate.curate import encoders

        return encoders.load(name, backend, device, max_seq_length)
    path = resolve_encoder(name)
    kwargs = {"dtype": torch.bfloat16} if backend == "bf16" else {}
    try:
        model = SentenceTransformer(path, device=device, model_kwargs=kwargs)
    except (OSError, ValueError) as e:
        raise UserError(f"encoder {name!r}: cannot load: {str(e).splitlines()[0]}") from None
    if max_seq_length:
        model.max_seq_length = max_seq_length
    return model


def encode(model: Any, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
    """(len(texts), d) float32 unit rows. sentence-transformers sorts each call's texts by length, so batches
    hold similar lengths and little padding (a larger chunk is a better bucketing)."""
    emb = model.encode(
        list(texts), batch_size=batch_size, convert_to_tensor=True, show_progress_bar=False, normalize_embeddings=False
    )
    emb = emb.float().cpu().numpy()
    # Normalise in float32 after the (possibly bf16) forward pass.
    return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)


def cache_key(encoder: str, backend: str, max_seq_length: int) -> str:
    return sha256_text("v1", encoder, backend, str(max_seq_length))[:16]


class EmbeddingCache:
    """Chunked on-disk store of text-hash -> vector for one encoder setting (see the module docstring).

    Every piece is checked when read: a keys file must load and hash to its chunk's name (the name is the digest
    of the keys, recorded when the chunk was committed), and a vectors file must be a whole (rows, d) float32
    matrix of unit rows (`shards.check_vectors`, run once per chunk a lookup uses). A damaged chunk is reported
    in one line and deleted, and its texts count as misses, so they are embedded again.
    """

    def __init__(self, root: str | os.PathLike, key: str, info: dict[str, Any]):
        self.dir = Path(root) / key
        self.info = info
        self.index: dict[bytes, tuple[Path, int]] = {}
        self.rows: dict[Path, int] = {}
        self.dim: int | None = None
        if self.dir.is_dir():
            for keys_file in sorted(self.dir.glob("*.keys.npy")):
                name = keys_file.name[: -len(".keys.npy")]
                emb_file = keys_file.with_name(name + ".npy")
                if not emb_file.exists():
                    continue  # keys are written last, so this cannot happen unless files were removed by hand
                try:
                    keys = np.load(keys_file)
                except (OSError, ValueError, EOFError) as e:
                    self.discard(emb_file, f"unreadable keys: {e}")
                    continue
                whole = keys.dtype == np.uint8 and keys.ndim == 2 and keys.shape[1] == 16
                if not whole or hashlib.sha256(keys.tobytes()).hexdigest()[:24] != name:
                    self.discard(emb_file, "keys do not match the chunk's digest")
                    continue
                self.rows[emb_file] = len(keys)
                for row, k in enumerate(keys):
                    self.index[k.tobytes()] = (emb_file, row)

    def discard(self, emb_file: Path, problem: str) -> None:
        """Report and delete a damaged chunk; its texts become misses."""
        log.warning("%s: damaged cache chunk (%s); deleted, its texts are embedded again", emb_file, problem)
        for f in (emb_file, emb_file.with_name(emb_file.name[: -len(".npy")] + ".keys.npy")):
            f.unlink(missing_ok=True)
        self.rows.pop(emb_file, None)
        self.index = {k: v for k, v in self.index.items() if v[0] != emb_file}

    def lookup(self, digests: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(hit mask, (len(digests), d) vectors with the hits filled)``; vectors is None when nothing hit."""
        by_file: dict[Path, list[tuple[int, int]]] = {}
        for i, d in enumerate(digests):
            where = self.index.get(d.tobytes())
            if where is not None:
                by_file.setdefault(where[0], []).append((i, where[1]))
        for path in list(by_file):
            problem = check_vectors(path, self.rows[path], self.dim)
            if problem is not None:
                self.discard(path, problem)
                del by_file[path]
            elif self.dim is None:
                self.dim = int(np.load(path, mmap_mode="r").shape[1])
        hit = np.zeros(len(digests), dtype=bool)
        if not by_file:
            return hit, None
        out = np.zeros((len(digests), self.dim), dtype=np.float32)
        for path, pairs in by_file.items():
            arr = np.load(path, mmap_mode="r")
            dst, src = np.array(pairs).T
            out[dst] = arr[src]
            hit[dst] = True
        return hit, out

    def add(self, digests: np.ndarray, emb: np.ndarray) -> None:
        """Write one chunk atomically: vectors first, then the keys that make it visible."""
        self.dir.mkdir(parents=True, exist_ok=True)
        info_path = self.dir / "info.json"
        if not info_path.exists():
            with atomic_write(info_path) as fh:
                json.dump(self.info, fh)
        name = hashlib.sha256(digests.tobytes()).hexdigest()[:24]
        with atomic_write(self.dir / f"{name}.npy", "wb", what="an embedding cache chunk") as fh:
            np.save(fh, emb.astype(np.float32))
        with atomic_write(self.dir / f"{name}.keys.npy", "wb", what="an embedding cache chunk's keys") as fh:
            np.save(fh, digests)
        self.rows[self.dir / f"{name}.npy"] = len(digests)
        for row, k in enumerate(digests):
            self.index[k.tobytes()] = (self.dir / f"{name}.npy", row)


class _Distinct(Sequence[str]):
    """The distinct texts of a pool as a sequence, without copying them (auto's calibration samples it)."""

    def __init__(self, texts: Sequence[str], order: np.ndarray) -> None:
        self.texts, self.order = texts, order

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, i):  # type: ignore[no-untyped-def,override]
        return self.texts[int(self.order[i])]


def embed_texts(
    texts: Sequence[str],
    settings: EncoderSettings | None = None,
    cache: str | os.PathLike | None = None,
    chunk_size: int = 2048,
    use_cache: bool = True,
    **fields: Any,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Embed `texts`, reusing and extending the on-disk cache. Returns ``((N, d) float32 unit rows, stats)``.

    stats: ``embedded`` (texts encoded by this call), ``cached`` (texts found in the cache, duplicates included),
    ``unique`` (distinct texts), ``backend``, ``device``, ``cache_dir``. Keyword `fields` replace fields of
    `settings` (`encoder_settings`: ``embed_texts(texts, backend="fp32", device="cpu")``).
    """
    from tqdm.auto import tqdm

    settings = encoder_settings(settings, **fields)
    encoder, max_seq_length, batch_size = settings.encoder, settings.max_seq_length, settings.batch_size
    device = resolve_device(settings.device)
    digests = text_digests(texts)
    _, first, inverse = np.unique(digests, axis=0, return_index=True, return_inverse=True)
    order = np.sort(first)  # first occurrence of each distinct text, in input order
    backend = resolve_backend(settings.encoder_backend, device, encoder, max_seq_length, _Distinct(texts, order))
    udig = digests[order]
    store = EmbeddingCache(
        Path(cache) if cache else cache_dir() / "embeddings",
        cache_key(encoder, backend, max_seq_length),
        {"encoder": encoder, "backend": backend, "max_seq_length": max_seq_length},
    )
    model = None
    uemb: np.ndarray | None = None
    hit = np.zeros(len(order), dtype=bool)
    if use_cache and store.index:
        hit, uemb = store.lookup(udig)
    missing = np.flatnonzero(~hit)
    if len(missing):
        model = load_encoder(encoder, backend, device, max_seq_length)
        with tqdm(total=len(missing), desc="embed", unit="text") as bar:
            for s in range(0, len(missing), chunk_size):
                part = missing[s : s + chunk_size]
                emb = encode(model, [texts[order[i]] for i in part], batch_size)
                if uemb is None:
                    uemb = np.zeros((len(order), emb.shape[1]), dtype=np.float32)
                if use_cache and s == 0:  # d is known now: every chunk to write must fit (vectors, keys, headers)
                    need = (4 * emb.shape[1] + 16) * len(missing) + 512 * (len(missing) // chunk_size + 1)
                    ensure_free_space(store.dir, need, f"the embedding cache for {len(missing)} texts")
                uemb[part] = emb
                if use_cache:
                    store.add(udig[part], emb)
                bar.update(len(part))
    assert uemb is not None
    stats = {
        "embedded": int(len(missing)),
        "cached": int(len(texts) - np.isin(inverse.ravel(), missing).sum()),
        "unique": int(len(order)),
        "backend": backend,
        "device": device,
        "cache_dir": str(store.dir),
    }
    # np.unique sorts digests; map each text to its position among first occurrences in input order.
    pos = np.empty(len(order), dtype=np.int64)
    pos[np.argsort(first)] = np.arange(len(order))
    return uemb[pos[inverse.ravel()]], stats
