"""The offline vLLM engine (``pip install codecurate[gpu]``): the fastest path on a GPU node.

vLLM batches and schedules internally, so the whole request list goes in one call with one ``SamplingParams`` per
request: ``LLM.chat`` for conversations (the tokenizer's chat template, e.g. one written by ``finetune
--prompt-format``), ``LLM.generate`` for raw prompts (`complete_text`: base models, completion-style eval).
Untested on this project's CPU machines (vLLM has no CPU wheel there); written from the vLLM API docs.
"""

from __future__ import annotations

from typing import Any

from codecurate.errors import UserError
from codecurate.llm.base import Completion, Request, Response, SamplingParams


class VLLMBackend:
    def __init__(self, model: str, **engine_args: Any):
        try:
            import vllm
        except ImportError:
            raise UserError("backend 'vllm' needs vLLM on a CUDA machine: pip install 'codecurate[gpu]'") from None
        from codecurate.models import resolve_llm

        self._vllm = vllm
        self.llm = vllm.LLM(model=resolve_llm(model), **engine_args)
        self.name = f"vllm:{model}"

    def _params(self, p: SamplingParams) -> Any:
        return self._vllm.SamplingParams(
            n=p.n, temperature=p.temperature, top_p=p.top_p, max_tokens=p.max_tokens, stop=list(p.stop) or None,
            seed=p.seed,
        )  # fmt: skip

    def complete(self, requests: list[Request]) -> list[Response]:
        if not requests:
            return []
        params = [self._params(r.params) for r in requests]
        try:
            outputs = self.llm.chat([r.messages for r in requests], sampling_params=params, use_tqdm=False)
        except Exception as e:  # the engine rejects the batch (e.g. a prompt longer than max_model_len)
            return [Response(error=f"{type(e).__name__}: {e}") for _ in requests]
        return [_response(out) for out in outputs]

    def complete_text(self, prompts: list[str], params: list[SamplingParams]) -> list[Response]:
        """Raw prompts, no chat template (``LLM.generate``); stop strings are applied by vLLM."""
        if not prompts:
            return []
        try:
            outputs = self.llm.generate(prompts, sampling_params=[self._params(p) for p in params], use_tqdm=False)
        except Exception as e:
            return [Response(error=f"{type(e).__name__}: {e}") for _ in prompts]
        return [_response(out) for out in outputs]


def _response(out: Any) -> Response:
    """A vLLM ``RequestOutput`` as our Response (``outputs`` holds the n ``CompletionOutput``s)."""
    completions = [
        Completion(c.text, "length" if c.finish_reason == "length" else "stop", len(c.token_ids)) for c in out.outputs
    ]
    return Response(completions, prompt_tokens=len(out.prompt_token_ids or []))
