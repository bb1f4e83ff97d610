"""Local causal LMs through transformers: batched chat generation with left padding.

Requests with equal sampling parameters are grouped and sorted by prompt length so each batch pads little.
Stop strings are enforced during generation (transformers' ``stop_strings``, so a finished row stops early)
and again by truncation afterwards, which also covers models whose tokenizer splits the stop string oddly.

A batch is prefilled row by row and only decoded together (`prefill_rows`). Prefill is compute-bound, so on a
CPU batching it gains nothing and padding every prompt to the longest one wastes the difference; decoding one
token is overhead-bound, and that is where a batch pays. Rows that begin alike (a system prompt, the same
few-shot examples) share one prefill of their common prefix, and the batch decodes in segments that drop
finished rows. In float32, answers are those of one request at a time (tests/test_backends.py); speed-ups in
bench/RESULTS.md ("generate loop").
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
from typing import Any

from codecurate.errors import UserError
from codecurate.llm.base import Completion, Request, Response, SamplingParams, truncate_at_stop

log = logging.getLogger(__name__)


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


class TransformersBackend:
    def __init__(
        self,
        model: str,
        device: str = "cpu",
        dtype: str = "auto",
        batch_size: int = 8,
        trust_remote_code: bool = False,
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

        from codecurate.models import cpu_has_bf16, resolve_llm

        path = resolve_llm(model)
        if dtype == "auto" and device == "cpu" and cpu_has_bf16():
            # Prefill, most of the work in our loop, runs about 3x faster; about half of greedy replies then differ
            # from fp32 somewhere (bench/llm_precision.py). dtype="float32" keeps full precision.
            dtype = "bfloat16"
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
            torch_dtype = getattr(torch, dtype) if dtype != "auto" else "auto"
            self.model = AutoModelForCausalLM.from_pretrained(
                path, dtype=torch_dtype, trust_remote_code=trust_remote_code
            ).to(device)
        except (OSError, ValueError) as e:
            raise UserError(f"cannot load model {model!r} with transformers: {str(e).splitlines()[0]}") from None
        self.model.eval()
        # Decoder-only batching needs left padding, or new tokens follow pad tokens.
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.device = device
        self.batch_size = max(1, batch_size)
        # Row-wise prefill assumes plain per-layer key/value caches; sliding-window or recurrent layers
        # (Mistral, Gemma 2/3, hybrids) keep something else, so they prefill padded together as usual.
        layers = DynamicCache(config=self.model.config).layers
        self.prefill_rows = bool(layers) and all(type(x).__name__ == "DynamicLayer" for x in layers)
        self.min_shared = 16  # shorter common prefixes are not worth a cache copy
        self.segment = 16  # tokens decoded between drops of finished rows
        self.name = f"transformers:{model}"
        log.info("%s: %s on %s", self.name, str(self.model.dtype).removeprefix("torch."), device)

    def complete(self, requests: list[Request]) -> list[Response]:
        responses: list[Response | None] = [None] * len(requests)
        prompts: dict[int, str] = {}
        for i, req in enumerate(requests):
            try:
                prompts[i] = self.tokenizer.apply_chat_template(
                    req.messages, tokenize=False, add_generation_prompt=True
                )
            except Exception as e:  # a malformed conversation fails alone
                responses[i] = Response(error=f"chat template: {e}")
        return self._complete(prompts, [r.params for r in requests], responses)

    def complete_text(self, prompts: list[str], params: list[SamplingParams]) -> list[Response]:
        """Raw prompts, no chat template: base models and HumanEval-style completion prompts."""
        return self._complete(dict(enumerate(prompts)), params, [None] * len(prompts))

    def _complete(
        self, prompts: dict[int, str], params: list[SamplingParams], responses: list[Response | None]
    ) -> list[Response]:
        from tqdm.auto import tqdm

        groups: dict[str, list[int]] = {}
        for i in prompts:
            p = params[i]
            # Not the seed: one seed per batch (torch's global generator) keeps per-request seeds batchable.
            groups.setdefault(repr((p.temperature, p.top_p, p.max_tokens, tuple(p.stop), p.n)), []).append(i)
        n_batches = sum(-(-len(idx) // self.batch_size) for idx in groups.values())
        # Passing disable=False would override TQDM_DISABLE (-q), so only ever pass True.
        quiet = {"disable": True} if n_batches < 2 else {}
        bar = tqdm(total=len(prompts), desc=self.name, unit="req", leave=False, **quiet)
        for idx in groups.values():
            idx.sort(key=lambda i: len(prompts[i]))
            for start in range(0, len(idx), self.batch_size):
                chunk = idx[start : start + self.batch_size]
                try:
                    outs = self._generate([prompts[i] for i in chunk], params[chunk[0]])
                except Exception as e:  # e.g. out of memory: this batch fails, the run goes on
                    log.warning("generation failed for a batch of %d: %s", len(chunk), e)
                    outs = [Response(error=f"{type(e).__name__}: {e}") for _ in chunk]
                for i, out in zip(chunk, outs, strict=True):
                    responses[i] = out
                bar.update(len(chunk))
        bar.close()
        return [r if r is not None else Response(error="not generated") for r in responses]

    def _generate(self, prompts: list[str], params: SamplingParams) -> list[Response]:
        import torch

        tok = self.tokenizer
        ids = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
        # n samples per prompt as n rows: the prefilled cache below would not follow num_return_sequences.
        rows = [r for r in ids for _ in range(params.n)]
        kwargs: dict[str, Any] = {"pad_token_id": tok.pad_token_id}
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
            if params.seed is not None:
                torch.manual_seed(params.seed)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if params.stop:
            kwargs.update(stop_strings=params.stop, tokenizer=tok)
        width = max(map(len, rows))
        input_ids = torch.full((len(rows), width), tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):  # left padding: new tokens follow each prompt's last token
            input_ids[i, width - len(r) :] = torch.tensor(r)
            mask[i, width - len(r) :] = 1
        rowwise = len(rows) > 1 and min(map(len, rows)) > 1 and self.prefill_rows
        with torch.inference_mode():
            cache = self._prefill(rows, width - 1) if rowwise else None
            input_ids, mask = input_ids.to(self.device), mask.to(self.device)
            generated = self._decode(input_ids, mask, cache, params.max_tokens, kwargs, rowwise)
        eos = self._eos_ids()
        responses = []
        for b in range(len(prompts)):
            completions = []
            for k in range(params.n):
                new = generated[b * params.n + k]
                ended = next((j for j, t in enumerate(new) if t in eos), None)
                new = new[:ended] if ended is not None else new
                text = tok.decode(new, skip_special_tokens=True)
                text, stopped = truncate_at_stop(text, params.stop)
                reason = "stop" if ended is not None or stopped else "length"
                completions.append(Completion(text, reason, len(new)))
            responses.append(Response(completions, prompt_tokens=len(ids[b])))
        return responses

    def _decode(
        self, input_ids: Any, mask: Any, cache: Any, budget: int, kwargs: dict[str, Any], rowwise: bool
    ) -> list[list[int]]:
        """New token ids per row. A batch decodes `segment` tokens at a time and drops the rows that have finished
        (an end token) between segments: generate() alone would carry them, as padding, until the longest reply
        is done, and replies' lengths vary a lot."""
        import torch

        eos = self._eos_ids()
        new: list[list[int]] = [[] for _ in range(len(input_ids))]
        active = list(range(len(input_ids)))
        segment = self.segment if rowwise else budget  # other caches may not support dropping rows
        while active and budget > 0:
            step = min(segment, budget)
            out = self.model.generate(
                input_ids=input_ids, attention_mask=mask, max_new_tokens=step, return_dict_in_generate=True,
                **{self._cache_kw: cache}, **kwargs,
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
    def _cache_kw(self) -> str:
        """The KV-cache argument's name: transformers 5.24 renamed `past_key_values` to `cache` and warns on the
        old one (a FutureWarning per call in the user's terminal); older releases know only the old one."""
        return "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"

    def _prefill(self, rows: list[list[int]], length: int) -> Any:
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
                self.model(head, use_cache=True, **{self._cache_kw: prefix})
            for i in group:
                cache = copy.deepcopy(prefix) if len(group) > 1 else prefix
                tail = torch.tensor([rows[i][shared:-1]], device=self.device)
                self.model(tail, use_cache=True, **{self._cache_kw: cache})
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

    def _eos_ids(self) -> set[int]:
        eos = self.model.generation_config.eos_token_id
        ids = set(eos if isinstance(eos, list) else [eos]) if eos is not None else set()
        ids.add(self.tokenizer.eos_token_id)
        ids.add(self.tokenizer.pad_token_id)
        return {i for i in ids if i is not None}
