"""Named instruction formats for models without a chat template (base models), as Jinja chat templates.

finetune writes the chosen format into the saved tokenizer's ``chat_template``, so the merged model, ``vllm serve``
and our eval all prompt it the same way with no flag: ``tokenizer.apply_chat_template(messages)`` renders it.

- ``chat``: the tokenizer's own chat template (instruct models); nothing is written.
- ``alpaca``: Stanford Alpaca's ``PROMPT_DICT["prompt_no_input"]`` (github.com/tatsu-lab/stanford_alpaca,
  train.py), the response appended right after ``### Response:``. WaveCoder's own training script
  (github.com/microsoft/WaveCoder, src/train/train.py) uses the same dict.
- ``wavecoder``: the ``@@ Instruction`` / ``@@ Response`` format WaveCoder's README evaluates its released models
  with (HumanEval through Magicoder's ``experiments/text2code.py``, which formats every prompt with
  ``MAGICODER_PROMPT`` from github.com/ise-uiuc/magicoder, src/magicoder/prompt_template.py).

A system message, when a conversation has one, replaces the format's fixed preamble. Every assistant turn ends
with the tokenizer's end-of-sequence token, so a fine-tuned model learns to stop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from codecurate.errors import UserError


@dataclass(frozen=True)
class PromptFormat:
    name: str
    preamble: str  # fixed text before the first instruction (a system message replaces it)
    instruction: str  # header before each user turn
    response: str  # header before each assistant turn; also the generation prompt
    turn_end: str  # text after each user turn's content
    source: str  # where the format comes from (docs/finetune.md cites it too)

    def chat_template(self) -> str:
        """The format as a Jinja chat template (the ``chat_template`` of a tokenizer)."""
        q = json.dumps  # Jinja string literals: JSON escapes newlines and quotes the same way
        return (
            "{%- if messages and messages[0]['role'] == 'system' -%}"
            "{%- set preamble = messages[0]['content'] + '\\n\\n' -%}{%- set turns = messages[1:] -%}"
            f"{{%- else -%}}{{%- set preamble = {q(self.preamble)} -%}}{{%- set turns = messages -%}}{{%- endif -%}}"
            "{{- preamble -}}"
            "{%- for m in turns -%}"
            f"{{%- if m['role'] == 'user' -%}}{{{{- {q(self.instruction)} + m['content'] + {q(self.turn_end)} -}}}}"
            f"{{%- elif m['role'] == 'assistant' -%}}{{{{- {q(self.response)} + m['content'] + eos_token + "
            f"{q(self.turn_end)} -}}}}"
            "{%- else -%}{{- raise_exception('unsupported role: ' + m['role']) -}}{%- endif -%}"
            "{%- endfor -%}"
            f"{{%- if add_generation_prompt -%}}{{{{- {q(self.response)} -}}}}{{%- endif -%}}"
        )

    def render(self, messages: list[dict[str, str]], eos_token: str = "", add_generation_prompt: bool = True) -> str:
        """The same text as the Jinja template, in Python (for readers without a tokenizer at hand)."""
        preamble, turns = self.preamble, messages
        if messages and messages[0]["role"] == "system":
            preamble, turns = messages[0]["content"] + "\n\n", messages[1:]
        out = [preamble]
        for m in turns:
            if m["role"] == "user":
                out.append(self.instruction + m["content"] + self.turn_end)
            elif m["role"] == "assistant":
                out.append(self.response + m["content"] + eos_token + self.turn_end)
            else:
                raise UserError(f"prompt format {self.name}: unsupported role {m['role']!r}")
        if add_generation_prompt:
            out.append(self.response)
        return "".join(out)


ALPACA_PREAMBLE = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
)
MAGICODER_PREAMBLE = (
    "You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable "
    "responses to user instructions.\n\n"
)

# name -> format; "chat" (the tokenizer's own template) is not in the table: it writes nothing.
FORMATS: dict[str, PromptFormat] = {
    "alpaca": PromptFormat(
        "alpaca", ALPACA_PREAMBLE, "### Instruction:\n", "### Response:", "\n\n",
        "Stanford Alpaca PROMPT_DICT['prompt_no_input'] (tatsu-lab/stanford_alpaca train.py; WaveCoder train.py)",
    ),
    "wavecoder": PromptFormat(
        "wavecoder", MAGICODER_PREAMBLE, "@@ Instruction\n", "@@ Response\n", "\n\n",
        "MAGICODER_PROMPT (ise-uiuc/magicoder prompt_template.py), used by WaveCoder's README for HumanEval",
    ),
}  # fmt: skip
PROMPT_FORMATS = ("chat", *FORMATS)


def get_format(name: str) -> PromptFormat | None:
    """The format called `name`; None for ``chat`` (use the tokenizer's template). Unknown names are a UserError."""
    if name == "chat":
        return None
    if name not in FORMATS:
        raise UserError(f"unknown prompt format {name!r}; choose one of {', '.join(PROMPT_FORMATS)}")
    return FORMATS[name]
