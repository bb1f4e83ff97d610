"""Local causal LMs through transformers: batched chat generation with left padding.

Requests with equal sampling parameters are grouped and sorted by prompt length so each batch pads little.
Stop strings are enforced during generation (transformers' ``stop_strings``, so a finished row stops early)
and again by truncation afterwards, which also covers models whose tokenizer splits the stop string oddly.
"""

from __future__ import annotations

import logging
from typing import Any

from codecurate.errors import UserError
from codecurate.generate.backends.base import Completion, Request, Response, SamplingParams

log = logging.getLogger(__name__)


def truncate_at_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    """Cut `text` before the first occurrence of any stop string; also say whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


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
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from codecurate.models import resolve_llm

        path = resolve_llm(model)
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
        self.name = f"transformers:{model}"

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

        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_tokens,
            "num_return_sequences": params.n,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
            if params.seed is not None:
                torch.manual_seed(params.seed)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if params.stop:
            kwargs.update(stop_strings=params.stop, tokenizer=self.tokenizer)
        with torch.inference_mode():
            out = self.model.generate(**enc, **kwargs)
        width = enc["input_ids"].shape[1]
        prompt_tokens = enc["attention_mask"].sum(dim=1).tolist()
        eos = self._eos_ids()
        responses = []
        for b in range(len(prompts)):
            completions = []
            for k in range(params.n):
                ids = out[b * params.n + k, width:].tolist()
                ended = next((j for j, t in enumerate(ids) if t in eos), None)
                ids = ids[:ended] if ended is not None else ids
                text = self.tokenizer.decode(ids, skip_special_tokens=True)
                text, stopped = truncate_at_stop(text, params.stop)
                reason = "stop" if ended is not None or stopped else "length"
                completions.append(Completion(text, reason, len(ids)))
            responses.append(Response(completions, prompt_tokens=int(prompt_tokens[b])))
        return responses

    def _eos_ids(self) -> set[int]:
        eos = self.model.generation_config.eos_token_id
        ids = set(eos if isinstance(eos, list) else [eos]) if eos is not None else set()
        ids.add(self.tokenizer.eos_token_id)
        ids.add(self.tokenizer.pad_token_id)
        return {i for i in ids if i is not None}
