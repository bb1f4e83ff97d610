"""Local causal LMs through transformers: batched chat generation with left padding.

Requests with equal sampling parameters are grouped and sorted by prompt length so each batch pads little
(`sampling_batches`). Stop strings are enforced during generation (transformers' ``stop_strings``, so a finished
row stops early) and again by truncation afterwards, which also covers models whose tokenizer splits the stop
string oddly. How one batch is generated (row-wise prefill, shared prefixes, segmented decoding): hf_generation.py.
"""

from __future__ import annotations

import logging
from typing import Any

from codecurate.errors import UserError
from codecurate.llm.base import Request, Response, SamplingParams, truncate_at_stop  # noqa: F401 (old import)
from codecurate.llm.hf_generation import BatchGenerator, common_prefix, prefix_groups  # noqa: F401 (re-exported)

log = logging.getLogger(__name__)


def auto_dtype(dtype: str, device: str) -> str:
    """``auto`` on a CPU with native bf16 is bfloat16: prefill, most of the work in our loop, runs about 3x faster;
    about half of greedy replies then differ from fp32 somewhere (bench/llm_precision.py). dtype="float32" keeps full
    precision. Anything else is left as given (``auto`` elsewhere: the checkpoint's own dtype)."""
    from codecurate.models import cpu_has_bf16

    return "bfloat16" if dtype == "auto" and device == "cpu" and cpu_has_bf16() else dtype


def load_causal_lm(model: str, device: str, dtype: str, trust_remote_code: bool) -> tuple[Any, Any]:
    """``(tokenizer, model)`` ready for batched generation: eval mode, on `device`, padding on the left.
    A model that cannot be loaded is one UserError line."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from codecurate.models import resolve_llm

    path = resolve_llm(model)
    dtype = auto_dtype(dtype, device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        torch_dtype = getattr(torch, dtype) if dtype != "auto" else "auto"
        lm = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype, trust_remote_code=trust_remote_code)
        lm = lm.to(device)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot load model {model!r} with transformers: {str(e).splitlines()[0]}") from None
    lm.eval()
    # Decoder-only batching needs left padding, or new tokens follow pad tokens.
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, lm


def chat_prompts(tokenizer: Any, requests: list[Request]) -> tuple[dict[int, str], list[Response | None]]:
    """Each request's conversation through the tokenizer's chat template, by request index; a conversation the
    template rejects gets its failed Response instead (it fails alone)."""
    prompts: dict[int, str] = {}
    failed: list[Response | None] = [None] * len(requests)
    for i, req in enumerate(requests):
        try:
            prompts[i] = tokenizer.apply_chat_template(req.messages, tokenize=False, add_generation_prompt=True)
        except Exception as e:  # a malformed conversation fails alone
            failed[i] = Response(error=f"chat template: {e}")
    return prompts, failed


def sampling_batches(prompts: dict[int, str], params: list[SamplingParams], batch_size: int) -> list[list[int]]:
    """Prompt indices in batches of at most `batch_size` with equal sampling parameters, shortest prompts first
    within each group so a batch pads little."""
    groups: dict[str, list[int]] = {}
    for i in prompts:
        p = params[i]
        # Not the seed: one seed per batch (torch's global generator) keeps per-request seeds batchable.
        groups.setdefault(repr((p.temperature, p.top_p, p.max_tokens, tuple(p.stop), p.n)), []).append(i)
    batches = []
    for idx in groups.values():
        idx.sort(key=lambda i: len(prompts[i]))
        batches += [idx[start : start + batch_size] for start in range(0, len(idx), batch_size)]
    return batches


class TransformersBackend:
    """The `transformers` backend: loads the model once, then answers chat requests (`complete`) and raw prompts
    (`complete_text`) in batches."""

    def __init__(
        self,
        model: str,
        device: str = "cpu",
        dtype: str = "auto",
        batch_size: int = 8,
        trust_remote_code: bool = False,
    ):
        self.tokenizer, self.model = load_causal_lm(model, device, dtype, trust_remote_code)
        self.device = device
        self.batch_size = max(1, batch_size)
        self.generator = BatchGenerator(self.model, self.tokenizer, device)
        self.name = f"transformers:{model}"
        log.info("%s: %s on %s", self.name, str(self.model.dtype).removeprefix("torch."), device)

    def complete(self, requests: list[Request]) -> list[Response]:
        prompts, responses = chat_prompts(self.tokenizer, requests)
        return self._complete(prompts, [r.params for r in requests], responses)

    def complete_text(self, prompts: list[str], params: list[SamplingParams]) -> list[Response]:
        """Raw prompts, no chat template: base models and HumanEval-style completion prompts."""
        return self._complete(dict(enumerate(prompts)), params, [None] * len(prompts))

    def _complete(
        self, prompts: dict[int, str], params: list[SamplingParams], responses: list[Response | None]
    ) -> list[Response]:
        """Fill `responses` batch by batch; a batch that fails (e.g. out of memory) fails its requests only."""
        from tqdm.auto import tqdm

        batches = sampling_batches(prompts, params, self.batch_size)
        # Passing disable=False would override TQDM_DISABLE (-q), so only ever pass True.
        quiet = {"disable": True} if len(batches) < 2 else {}
        bar = tqdm(total=len(prompts), desc=self.name, unit="req", leave=False, **quiet)
        for chunk in batches:
            try:
                outs = self.generator.generate([prompts[i] for i in chunk], params[chunk[0]])
            except Exception as e:  # e.g. out of memory: this batch fails, the run goes on
                log.warning("generation failed for a batch of %d: %s", len(chunk), e)
                outs = [Response(error=f"{type(e).__name__}: {e}") for _ in chunk]
            for i, out in zip(chunk, outs, strict=True):
                responses[i] = out
            bar.update(len(chunk))
        bar.close()
        return [r if r is not None else Response(error="not generated") for r in responses]
