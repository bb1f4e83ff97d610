import json
import random
import warnings

import pytest

from codecurate.errors import UserError
from codecurate.finetune.data import load_rows, split, to_row
from codecurate.finetune.train import FinetuneConfig, run, summarize_log


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_record_shapes_become_prompt_completion_rows():
    msgs = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert to_row({"messages": msgs}) == {"prompt": msgs[:1], "completion": msgs[1:]}
    assert to_row({"prompt": "p", "completion": "c"}) == {"prompt": "p", "completion": "c"}
    row = to_row({"instruction": "Do it", "input": "x = 1", "output": "done"})
    assert row["prompt"] == [{"role": "user", "content": "Do it\n\nx = 1"}]
    assert row["completion"] == [{"role": "assistant", "content": "done"}]
    system = [{"role": "system", "content": "s"}, *msgs, {"role": "user", "content": "more"}]
    assert to_row({"messages": system}) == {"prompt": system[:2], "completion": [msgs[1]]}


def test_unusable_records_name_file_line_and_field(tmp_path):
    path = write_jsonl(tmp_path / "ins.jsonl", [{"instruction": "a", "output": "b"}, {"code": "x"}])
    with pytest.raises(UserError, match=r"ins\.jsonl:2: field 'messages': missing required field"):
        load_rows(path)
    path = write_jsonl(tmp_path / "ins2.jsonl", [{"instruction": "a"}])
    with pytest.raises(UserError, match=r"ins2\.jsonl:1: field 'output'"):
        load_rows(path)
    path = write_jsonl(tmp_path / "ins3.jsonl", [{"messages": [{"role": "assistant", "content": "a"}]}])
    with pytest.raises(UserError, match=r"ins3\.jsonl:1: field 'messages'"):
        load_rows(path)


def test_multipl_e_records_are_refused(tmp_path):
    records = [{"instruction": "a", "output": "b"}, {"instruction": "a", "output": "b", "source": "nuprl/MultiPL-E"}]
    with pytest.raises(UserError, match=r"ins\.jsonl:2: field 'source'.*licence"):
        load_rows(write_jsonl(tmp_path / "ins.jsonl", records))


def test_split_is_seeded_disjoint_and_complete():
    rows = [{"prompt": str(i), "completion": "c"} for i in range(20)]
    train, val = split(rows, 0.2, seed=1)
    assert len(val) == 4 and len(train) == 16
    assert sorted(r["prompt"] for r in train + val) == sorted(r["prompt"] for r in rows)
    assert split(rows, 0.2, seed=1) == (train, val) and split(rows, 0.2, seed=2) != (train, val)
    assert split(rows, 0.0, seed=1)[1] == []
    with pytest.raises(UserError, match="too few"):
        split(rows[:1], 0.5, seed=0)


def test_summarize_log_keeps_losses_in_order():
    history = [{"step": 1, "loss": 2.0, "lr": 1}, {"step": 2, "eval_loss": 1.5}, {"step": 3, "loss": 1.0}, {"x": 1}]
    entries, train, ev = summarize_log(history)
    assert entries == [{"step": 1, "loss": 2.0}, {"step": 2, "eval_loss": 1.5}, {"step": 3, "loss": 1.0}]
    assert (train, ev) == (1.0, 1.5)


def memorise_records(n: int = 8) -> list[dict]:
    """Random strings the base model cannot know, so the loss starts high and can only fall by learning."""
    rng = random.Random(0)
    out = []
    for i in range(n):
        token = "".join(rng.choice("qzxjkvw") for _ in range(12))
        out.append({"instruction": f"Give code {i}.", "output": f"def code_{i}():\n    return '{token}'\n"})
    return out


@pytest.mark.slow
def test_cpu_smoke_run_loss_falls_and_summary_is_complete(tmp_path):
    data = write_jsonl(tmp_path / "ins.jsonl", memorise_records())
    out = tmp_path / "ft"
    cfg = FinetuneConfig(input=str(data), output=str(out), max_steps=6, batch_size=4, max_length=96)
    cfg.learning_rate, cfg.logging_steps, cfg.eval_steps, cfg.save_steps, cfg.val_fraction = 3e-3, 1, 6, 6, 0.25
    cfg.merge = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = run(cfg)
    noise = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning | FutureWarning)]
    assert noise == []  # library deprecation notices stay out of the user's terminal
    written = json.loads((out / "training_summary.json").read_text())
    losses = [e["loss"] for e in written["log_history"] if "loss" in e]
    assert summary["steps"] == written["steps"] == 6
    assert losses[-1] < 0.5 * losses[0], losses
    assert written["final_eval_loss"] is not None and written["tokens_seen"] > 0 and written["wall_time_s"] > 0
    assert written["base_model"] == "smollm2" and written["val_records"] == 2
    assert (out / "adapter_config.json").exists() and (out / "merged" / "config.json").exists()
    # A rerun into the same folder must not silently restart over the checkpoints.
    with pytest.raises(UserError, match="--resume"):
        run(cfg)
    cfg.resume, cfg.max_steps, cfg.merge = True, 7, False
    assert run(cfg)["steps"] == 7  # continued from checkpoint-6, not from zero

    from transformers import AutoModelForCausalLM

    AutoModelForCausalLM.from_pretrained(out / "merged")  # loads as a plain model (what eval and vLLM need)


def test_missing_model_is_a_user_error(tmp_path):
    data = write_jsonl(tmp_path / "ins.jsonl", memorise_records(4))
    with pytest.raises(UserError, match="no such model folder"):
        run(FinetuneConfig(input=str(data), model=str(tmp_path / "nope"), output=str(tmp_path / "o")))


def test_knobs_reach_training_on_cpu(tmp_path):
    """What the knobs do to a real run (a tiny random Llama, seconds on CPU), not how they are spelled: max_steps
    is the number of optimizer steps, batch_size x grad_accum the rows per step (the same 4 rows seen once, then
    twice, give exactly twice the tokens), CPU training and its saved weights are fp32, and no eval runs without a
    validation split."""
    import json as json_

    from golden_run import tiny_model

    model = tiny_model(tmp_path / "tiny")
    data = write_jsonl(tmp_path / "ins.jsonl", memorise_records(4))
    seen = {}
    for accum in (1, 2):
        out = tmp_path / f"ft-{accum}"
        # logging_steps above max_steps: the run still logs each step, so the summary's final loss is the last one.
        knobs = {"max_steps": 2, "batch_size": 2, "grad_accum": accum, "val_fraction": 0.0, "logging_steps": 10}
        cfg = FinetuneConfig(input=str(data), model=str(model), output=str(out), max_length=96, merge=accum == 2,
                             **knobs)  # fmt: skip
        summary = run(cfg)
        history = json_.loads((out / "training_summary.json").read_text())["log_history"]
        assert summary["steps"] == 2 and [e["step"] for e in history if "loss" in e] == [1, 2]
        assert summary["final_train_loss"] == [e["loss"] for e in history if "loss" in e][-1]
        assert summary["final_eval_loss"] is None and not any("eval_loss" in e for e in history)
        seen[accum] = summary["tokens_seen"]
    assert seen[1] > 0 and seen[2] == 2 * seen[1]
    merged = json_.loads((tmp_path / "ft-2" / "merged" / "config.json").read_text())
    assert merged.get("dtype", merged.get("torch_dtype")) == "float32"


def test_bf16_on_cpu_is_refused():
    from codecurate.finetune.train import build_sft_config

    cfg = FinetuneConfig(input="x.jsonl", output="o", precision="bf16")
    with pytest.raises(UserError, match="needs a GPU"):
        build_sft_config(cfg, on_gpu=False, has_val=False)
