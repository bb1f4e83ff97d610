"""The offline vLLM engine (``pip install codecurate[gpu]``): the fastest path on a GPU node.

vLLM batches and schedules internally, so the whole request list goes in one ``LLM.chat`` call with one
``SamplingParams`` per request.
"""

from __future__ import annotations

from typing import Any

from codecurate.errors import UserError
from codecurate.generate.backends.base import Completion, Request, Response


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

    def complete(self, requests: list[Request]) -> list[Response]:
        if not requests:
            return []
        params = [
            self._vllm.SamplingParams(
                n=r.params.n,
                temperature=r.params.temperature,
                top_p=r.params.top_p,
                max_tokens=r.params.max_tokens,
                stop=list(r.params.stop) or None,
                seed=r.params.seed,
            )
            for r in requests
        ]
        try:
            outputs = self.llm.chat([r.messages for r in requests], sampling_params=params, use_tqdm=False)
        except Exception as e:  # the engine rejects the batch (e.g. a prompt longer than max_model_len)
            return [Response(error=f"{type(e).__name__}: {e}") for _ in requests]
        responses = []
        for out in outputs:
            completions = [
                Completion(c.text, "length" if c.finish_reason == "length" else "stop", len(c.token_ids))
                for c in out.outputs
            ]
            responses.append(Response(completions, prompt_tokens=len(out.prompt_token_ids or [])))
        return responses
