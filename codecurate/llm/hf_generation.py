"""One batch of prompts through a causal LM: row-wise prefill with shared prefixes, then segmented decoding.

A batch is prefilled row by row and only decoded together. Prefill is compute-bound, so on a CPU batching it gains
nothing and padding every prompt to the longest one wastes the difference; decoding one token is overhead-bound,
and that is where a batch pays. Rows that begin alike (a system prompt, the same few-shot examples) share one
prefill of their common prefix, and the batch decodes in segments that drop finished rows. In float32, answers are
those of one request at a time (tests/test_backends.py); speed-ups in bench/RESULTS.md ("generate loop").
"""

from __future__ import annotations

import copy
import functools
import inspect
from typing import Any

from codecurate.llm.base import Completion, Response, SamplingParams, truncate_at_stop


def common_prefix(a: list[int], b: list[int]) -> int:
    """How many leading tokens `a` and `b` share."""
    n = min(len(a), len(b))
    return next((j for j in range(n) if a[j] != b[j]), n)


def prefix_groups(rows: list[list[int]], min_shared: int = 16) -> list[tuple[list[int], int]]:
    """Row indices grouped by a shared token prefix of at least `min_shared` tokens: ``[(indices, shared)]``.

    Rows are sorted, so rows with a common prefix sit next to each other; a group's prefix is the shortest common
    prefix of its neighbours, and always leaves each row at least one token of its own to prefill.
    """
    order = sorted(range(len(rows)), key=lambda i: rows[i])
    groups: list[tuple[list[int], int]] = []
    for i in order:
        if groups:
            group, shared = groups[-1]
            prev = rows[group[-1]]
            common = min(common_prefix(prev, rows[i]), len(rows[i]) - 2, shared if len(group) > 1 else len(prev) - 2)
            if common >= min_shared:
                groups[-1] = (group + [i], common)
                continue
        groups.append(([i], 0))
    return groups


def sampling_kwargs(params: SamplingParams, tokenizer: Any) -> dict[str, Any]:
    """``generate()`` keyword arguments for `params`: greedy or sampling, and stop strings. Sampling seeds torch's
    global generator once per batch (hence one seed per batch)."""
    import torch

    kwargs: dict[str, Any] = {"pad_token_id": tokenizer.pad_token_id}
    if params.temperature > 0:
        kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
        if params.seed is not None:
            torch.manual_seed(params.seed)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    if params.stop:
        kwargs.update(stop_strings=params.stop, tokenizer=tokenizer)
    return kwargs


def left_padded(rows: list[list[int]], pad_id: int) -> tuple[Any, Any]:
    """``(input_ids, attention_mask)`` with every row padded on the left: new tokens follow each prompt's end."""
    import torch

    width = max(map(len, rows))
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        input_ids[i, width - len(r) :] = torch.tensor(r)
        mask[i, width - len(r) :] = 1
    return input_ids, mask


class BatchGenerator:
    """Generates one batch of prompts (equal sampling parameters) with `model` and `tokenizer` on `device`."""

    def __init__(self, model: Any, tokenizer: Any, device: str):
        from transformers import DynamicCache

        self.model, self.tokenizer, self.device = model, tokenizer, device
        # Row-wise prefill assumes plain per-layer key/value caches; sliding-window or recurrent layers
        # (Mistral, Gemma 2/3, hybrids) keep something else, so they prefill padded together as usual.
        layers = DynamicCache(config=model.config).layers
        self.prefill_rows = bool(layers) and all(type(x).__name__ == "DynamicLayer" for x in layers)
        self.min_shared = 16  # shorter common prefixes are not worth a cache copy
        self.segment = 16  # tokens decoded between drops of finished rows

    def generate(self, prompts: list[str], params: SamplingParams) -> list[Response]:
        import torch

        tok = self.tokenizer
        ids = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
        # n samples per prompt as n rows: the prefilled cache below would not follow num_return_sequences.
        rows = [r for r in ids for _ in range(params.n)]
        kwargs = sampling_kwargs(params, tok)
        input_ids, mask = left_padded(rows, tok.pad_token_id)
        rowwise = len(rows) > 1 and min(map(len, rows)) > 1 and self.prefill_rows
        with torch.inference_mode():
            cache = self.prefill(rows, input_ids.shape[1] - 1) if rowwise else None
            input_ids, mask = input_ids.to(self.device), mask.to(self.device)
            generated = self.decode(input_ids, mask, cache, params.max_tokens, kwargs, rowwise)
        return [
            Response(self._completions(generated[b * params.n : (b + 1) * params.n], params), prompt_tokens=len(ids[b]))
            for b in range(len(prompts))
        ]

    def _completions(self, rows: list[list[int]], params: SamplingParams) -> list[Completion]:
        """The new tokens of one prompt's rows as completions: cut at the first end token, then at a stop string."""
        eos = self.eos_ids()
        completions = []
        for new in rows:
            ended = next((j for j, t in enumerate(new) if t in eos), None)
            new = new[:ended] if ended is not None else new
            text, stopped = truncate_at_stop(self.tokenizer.decode(new, skip_special_tokens=True), params.stop)
            completions.append(Completion(text, "stop" if ended is not None or stopped else "length", len(new)))
        return completions

    def decode(
        self, input_ids: Any, mask: Any, cache: Any, budget: int, kwargs: dict[str, Any], rowwise: bool
    ) -> list[list[int]]:
        """New token ids per row. A batch decodes `segment` tokens at a time and drops the rows that have finished
        (an end token) between segments: generate() alone would carry them, as padding, until the longest reply
        is done, and replies' lengths vary a lot."""
        import torch

        eos = self.eos_ids()
        new: list[list[int]] = [[] for _ in range(len(input_ids))]
        active = list(range(len(input_ids)))
        segment = self.segment if rowwise else budget  # other caches may not support dropping rows
        while active and budget > 0:
            step = min(segment, budget)
            out = self.model.generate(
                input_ids=input_ids, attention_mask=mask, max_new_tokens=step, return_dict_in_generate=True,
                **{self.cache_kw: cache}, **kwargs,
            )  # fmt: skip
            tail = out.sequences[:, input_ids.shape[1] :]
            budget -= step
            keep = []
            for j, row in enumerate(active):
                ids = tail[j].tolist()
                new[row] += ids
                if not any(t in eos for t in ids):
                    keep.append(j)
            if not keep or budget <= 0:
                break
            idx = torch.tensor(keep, device=input_ids.device)
            cache = out.past_key_values
            cache.batch_select_indices(idx)
            input_ids = out.sequences[idx]
            mask = torch.cat([mask, torch.ones_like(tail)], dim=1)[idx]
            active = [active[j] for j in keep]
        return new

    @functools.cached_property
    def cache_kw(self) -> str:
        """The KV-cache argument's name: transformers 5.24 renamed `past_key_values` to `cache` and warns on the
        old one (a FutureWarning per call in the user's terminal); older releases know only the old one."""
        return "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"

    def prefill(self, rows: list[list[int]], length: int) -> Any:
        """A batch cache of every row but its last token, left-padded to `length`; generate() then feeds the last
        tokens and decodes. Rows that begin alike (same system prompt and few-shot turns) share one prefill of
        their common prefix, copied into each row's cache."""
        import torch
        from transformers import DynamicCache

        caches: list[Any] = [None] * len(rows)
        for group, shared in prefix_groups(rows, self.min_shared):
            prefix = DynamicCache(config=self.model.config)
            if shared:
                head = torch.tensor([rows[group[0]][:shared]], device=self.device)
                self.model(head, use_cache=True, **{self.cache_kw: prefix})
            for i in group:
                cache = copy.deepcopy(prefix) if len(group) > 1 else prefix
                tail = torch.tensor([rows[i][shared:-1]], device=self.device)
                self.model(tail, use_cache=True, **{self.cache_kw: cache})
                caches[i] = cache
        batch = DynamicCache(config=self.model.config)
        for layer in range(len(caches[0].layers)):
            keys, values = [], []
            for c in caches:
                k, v = c.layers[layer].keys, c.layers[layer].values
                keys.append(torch.nn.functional.pad(k, (0, 0, length - k.shape[2], 0)))  # pad the sequence axis
                values.append(torch.nn.functional.pad(v, (0, 0, length - v.shape[2], 0)))
            batch.update(torch.cat(keys), torch.cat(values), layer)
        return batch

    def eos_ids(self) -> set[int]:
        """Token ids that end a reply: the generation config's end tokens, the tokenizer's, and padding."""
        eos = self.model.generation_config.eos_token_id
        ids = set(eos if isinstance(eos, list) else [eos]) if eos is not None else set()
        ids.add(self.tokenizer.eos_token_id)
        ids.add(self.tokenizer.pad_token_id)
        return {i for i in ids if i is not None}
