"""Fine-tune a causal LM on instruction records: TRL SFTTrainer, loss on the completion only, LoRA by default.

    codecurate finetune runs/demo/instructions.jsonl --model smollm2 -o runs/ft --max-steps 50 --merge
    codecurate finetune data.jsonl --model Qwen/Qwen2.5-Coder-1.5B-Instruct --method full --epochs 3 -o runs/ft
    accelerate launch --config_file configs/accelerate/ddp.yaml -m codecurate.finetune.train data.jsonl -o runs/ft

On CPU it trains in fp32 without gradient checkpointing (both only cost time there); on GPU in bf16 (fp16 where bf16
is missing) with gradient checkpointing. Checkpoints go to ``<out>/checkpoint-N``; ``--resume`` continues from the
last one. ``--merge`` writes ``<out>/merged``, a plain model folder the eval stage and vLLM load directly.
Records whose ``source`` names MultiPL-E are refused (its licence forbids training on it).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from codecurate.config import to_dict
from codecurate.errors import UserError
from codecurate.finetune.data import load_rows, split
from codecurate.io import ensure_free_space, write_json
from codecurate.manifest import write_manifest
from codecurate.models import DEFAULT_LLM
from codecurate.prompt_formats import PROMPT_FORMATS, get_format

log = logging.getLogger(__name__)


@dataclass
class FinetuneConfig:
    input: str = field(metadata={"help": "instructions.jsonl (messages, prompt/completion, or instruction/output)",
                                "positional": True})  # fmt: skip
    model: str = field(default=DEFAULT_LLM, metadata={"help": "base model: folder, Hub id, or alias 'smollm2'"})
    output: str = field(default="runs/ft", metadata={"help": "output folder", "aliases": ["-o"]})
    method: Literal["lora", "full"] = field(default="lora", metadata={"help": "LoRA adapters (PEFT) or all weights"})
    prompt_format: str = field(
        default="chat",
        metadata={"help": "chat: the tokenizer's chat template; alpaca, wavecoder: that instruction format, written "
                  "into the saved tokenizer's chat_template (for base models)", "choices": list(PROMPT_FORMATS)},
    )  # fmt: skip
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling numerator (scale = alpha / r)"})
    lora_dropout: float = field(default=0.05, metadata={"help": "dropout on the LoRA path"})
    lora_targets: list[str] = field(
        default_factory=lambda: ["all-linear"], metadata={"help": "modules to adapt: all-linear, or names"}
    )
    epochs: float = field(default=1.0, metadata={"help": "passes over the training split (ignored if max_steps>0)"})
    max_steps: int = field(default=-1, metadata={"help": "optimizer steps; -1 = use epochs"})
    learning_rate: float = field(default=2e-4, metadata={"help": "peak LR (2e-4 suits LoRA; use ~2e-5 for full)"})
    lr_scheduler: Literal["linear", "cosine", "constant"] = field(default="cosine", metadata={"help": "LR schedule"})
    warmup_steps: int = field(default=0, metadata={"help": "linear warm-up steps"})
    batch_size: int = field(default=4, metadata={"help": "sequences per device per step"})
    grad_accum: int = field(default=1, metadata={"help": "gradient accumulation steps (effective batch = b*g*gpus)"})
    max_length: int = field(default=1024, metadata={"help": "tokens per sequence; longer ones are truncated"})
    packing: bool = field(default=False, metadata={"help": "pack short rows into full-length sequences (faster)"})
    val_fraction: float = field(default=0.05, metadata={"help": "held-out share for eval loss (0 = none)"})
    seed: int = field(default=0, metadata={"help": "seed for the split, init and data order"})
    resume: bool = field(default=False, metadata={"help": "continue from the last checkpoint in the output"})
    merge: bool = field(default=False, metadata={"help": "also write <out>/merged (adapter folded into the base)"})
    logging_steps: int = field(default=10, metadata={"help": "log train loss every N steps"})
    eval_steps: int = field(default=50, metadata={"help": "eval loss every N steps (and once at the end)"})
    save_steps: int = field(default=100, metadata={"help": "checkpoint every N steps"})
    save_total_limit: int = field(default=2, metadata={"help": "checkpoints kept"})
    precision: Literal["auto", "bf16", "fp16", "fp32"] = field(
        default="auto", metadata={"help": "auto: bf16 on a GPU that has it, else fp16 on GPU, fp32 on CPU"}
    )
    gradient_checkpointing: bool | None = field(
        default=None, metadata={"help": "trade compute for memory (default: on for GPU, off for CPU)"}
    )
    device: Literal["auto", "cpu", "cuda"] = field(default="auto", metadata={"help": "where to train"})


def _check_model(name: str) -> str:
    from codecurate.models import resolve_llm

    path = resolve_llm(name)
    looks_local = path.startswith((".", "/", "~")) or path.count("/") != 1
    if looks_local and not Path(path).expanduser().is_dir():
        raise UserError(f"{name}: no such model folder")
    return path


def _precision(cfg: FinetuneConfig, on_gpu: bool) -> str:
    import torch

    if cfg.precision != "auto":
        if cfg.precision != "fp32" and not on_gpu:
            raise UserError(f"--precision {cfg.precision} needs a GPU; use fp32 (or auto) on CPU")
        return cfg.precision
    if not on_gpu:
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def build_sft_config(cfg: FinetuneConfig, on_gpu: bool, has_val: bool):
    """Map our knobs onto TRL's SFTConfig (the mapping is documented in docs/finetune.md)."""
    from trl import SFTConfig

    precision = _precision(cfg, on_gpu)
    checkpointing = on_gpu if cfg.gradient_checkpointing is None else cfg.gradient_checkpointing
    dtype = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}[precision]
    # transformers 5 renamed gradient_* to activation_checkpointing* (the old names warn); support both.
    names = {f.name for f in dataclasses.fields(SFTConfig)}
    ckpt = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    # Non-reentrant checkpointing works with frozen bases (LoRA) without forcing input grads on.
    ckpt_args = {ckpt: checkpointing, f"{ckpt}_kwargs": {"use_reentrant": False} if checkpointing else None}
    if ckpt == "activation_checkpointing":
        ckpt_args["gradient_checkpointing"] = None
    return SFTConfig(
        output_dir=cfg.output,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_steps,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        max_length=cfg.max_length,
        packing=cfg.packing,
        seed=cfg.seed,
        # A run shorter than the logging interval still logs its losses (the summary's final loss is the last one).
        logging_steps=min(cfg.logging_steps, cfg.max_steps) if cfg.max_steps > 0 else cfg.logging_steps,
        logging_first_step=True,
        eval_strategy="steps" if has_val else "no",
        eval_steps=cfg.eval_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        # Full-precision LoRA keeps optimizer math stable; fp16 weights would need a grad scaler on the base too.
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        **ckpt_args,
        use_cpu=not on_gpu,
        model_init_kwargs={"dtype": dtype if cfg.method == "lora" or precision == "bf16" else "float32"},
        include_num_input_tokens_seen="non_padding",
        report_to="none",
        disable_tqdm=os.environ.get("TQDM_DISABLE") == "1",
    )


def _peft_config(cfg: FinetuneConfig):
    if cfg.method != "lora":
        return None
    from peft import LoraConfig

    targets = cfg.lora_targets[0] if cfg.lora_targets == ["all-linear"] else list(cfg.lora_targets)
    return LoraConfig(
        r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout, target_modules=targets,
        task_type="CAUSAL_LM",
    )  # fmt: skip


def apply_prompt_format(tokenizer, cfg: FinetuneConfig, chat_rows: bool) -> None:
    """Set the tokenizer's chat template to the chosen format, before TRL renders any row with it; the saved
    tokenizer then carries it, so eval and vLLM prompt the model the way it was trained."""
    fmt = get_format(cfg.prompt_format)
    if fmt is None:
        if chat_rows and not tokenizer.chat_template:
            raise UserError(
                f"{cfg.model}: its tokenizer has no chat template (a base model); choose an instruction format with "
                f"--prompt-format {'|'.join(p for p in PROMPT_FORMATS if p != 'chat')}"
            )
        return
    if not chat_rows:
        raise UserError(
            f"{cfg.input}: --prompt-format {fmt.name} formats chat rows; plain-text prompt/completion rows are "
            "trained as written (use --prompt-format chat)"
        )
    if tokenizer.eos_token is None:
        raise UserError(f"{cfg.model}: tokenizer has no end-of-sequence token, so a trained model could not stop")
    if tokenizer.chat_template:
        log.warning("%s: its own chat template is replaced by the %s format", cfg.model, fmt.name)
    tokenizer.chat_template = fmt.chat_template()


def summarize_log(log_history: list[dict]) -> tuple[list[dict], float | None, float | None]:
    """The trainer's log as ``{step, loss}`` / ``{step, eval_loss}`` dicts, plus the last train and eval loss."""
    entries = []
    for e in log_history:
        for key in ("loss", "eval_loss"):
            if key in e:
                entries.append({"step": e.get("step", 0), key: e[key]})
    last = {k: next((e[k] for e in reversed(entries) if k in e), None) for k in ("loss", "eval_loss")}
    return entries, last["loss"], last["eval_loss"]


def merge_adapter(base_path: str, adapter_dir: str | Path, out_dir: str | Path, dtype: str = "float32") -> Path:
    """Fold a saved LoRA adapter into its base and save a plain model folder (reads from disk, so it works after
    any distributed run, whose in-memory model may be sharded)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=getattr(torch, dtype))
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    out_dir = Path(out_dir)
    # The weights' size is known here: stop with how much is needed rather than die mid-save on a full disk.
    weights = sum(p.numel() * p.element_size() for p in merged.parameters())
    ensure_free_space(out_dir, weights + (64 << 20), "the merged model")
    merged.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(str(adapter_dir)).save_pretrained(out_dir)
    return out_dir


def run(cfg: FinetuneConfig) -> dict:
    with warnings.catch_warnings():
        # TRL and PEFT read transformers' renamed `is_gradient_checkpointing`: a notice for their authors, not for
        # our user (nothing they can change), so it is kept out of their terminal.
        warnings.filterwarnings("ignore", r".*is_gradient_checkpointing.* is deprecated", FutureWarning)
        return _run(cfg)


def _last_checkpoint(out: Path, resume: bool) -> str | None:
    """The checkpoint a ``--resume`` run continues from; a folder with checkpoints and no ``--resume`` is refused
    (a silent restart would train over them)."""
    from transformers.trainer_utils import get_last_checkpoint

    last = get_last_checkpoint(str(out)) if out.is_dir() else None
    if last and not resume:
        raise UserError(f"{out}: holds checkpoints from an earlier run; pass --resume to continue, or use another -o")
    if resume and not last:
        log.info("no checkpoint in %s: starting from scratch", out)
    return last


def _run(cfg: FinetuneConfig) -> dict:
    rows, data_stats = load_rows(cfg.input)
    train_rows, val_rows = split(rows, cfg.val_fraction, cfg.seed)
    model_path = _check_model(cfg.model)
    out = Path(cfg.output)

    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTTrainer

    on_gpu = cfg.device != "cpu" and torch.cuda.is_available()
    if cfg.device == "cuda" and not on_gpu:
        raise UserError("--device cuda: no GPU visible to torch")
    last_ckpt = _last_checkpoint(out, cfg.resume)

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    apply_prompt_format(tokenizer, cfg, chat_rows=isinstance(train_rows[0]["prompt"], list))
    args = build_sft_config(cfg, on_gpu, bool(val_rows))
    trainer = SFTTrainer(
        model=model_path,
        args=args,
        train_dataset=Dataset.from_list(train_rows),
        eval_dataset=Dataset.from_list(val_rows) if val_rows else None,
        processing_class=tokenizer,
        peft_config=_peft_config(cfg),
    )
    # TRL drops rows it cannot use (e.g. no completion token left after truncation): count them, never hide them.
    dropped = len(train_rows) - len(trainer.train_dataset)
    if len(trainer.train_dataset) == 0:
        raise UserError(f"{cfg.input}: no training rows left after tokenization; raise --max-length ({cfg.max_length})")
    if dropped and not cfg.packing:
        log.warning("%d of %d training rows dropped by TRL preprocessing", dropped, len(train_rows))
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=last_ckpt if cfg.resume else None)
    evaluated = [e.get("step") for e in trainer.state.log_history if "eval_loss" in e]
    if val_rows and (not evaluated or evaluated[-1] != trainer.state.global_step):
        trainer.evaluate()  # the final eval loss, whatever eval_steps was
    wall = time.perf_counter() - start
    trainer.save_model(str(out))
    trainer.accelerator.wait_for_everyone()
    if not trainer.is_world_process_zero():
        return {}
    tokenizer.save_pretrained(out)
    merged = None
    if cfg.merge:
        if cfg.method == "lora":
            dtype = "bfloat16" if args.bf16 else "float16" if args.fp16 else "float32"
            merged = merge_adapter(model_path, out, out / "merged", dtype)
        else:
            merged = out / "merged"
            trainer.save_model(str(merged))
            tokenizer.save_pretrained(merged)
    entries, train_loss, eval_loss = summarize_log(trainer.state.log_history)
    state = trainer.state
    tokens = int(getattr(state, "num_input_tokens_seen", 0) or 0)
    summary = {
        "base_model": cfg.model,
        "base_model_path": model_path,
        "method": cfg.method,
        "prompt_format": cfg.prompt_format,
        "steps": state.global_step,
        "tokens_seen": tokens,
        "wall_time_s": round(wall, 2),
        "train_tokens_per_s": round(tokens / wall, 1) if wall > 0 else None,
        "final_train_loss": train_loss,
        "final_eval_loss": eval_loss,
        "train_records": len(train_rows),
        "val_records": len(val_rows),
        "train_rows_dropped": 0 if cfg.packing else dropped,  # packing changes the row count on purpose
        "merged": str(merged) if merged else None,
        "log_history": entries,
    }
    write_json(out / "training_summary.json", summary)
    counts = {**data_stats, "train": len(train_rows), "val": len(val_rows), "steps": state.global_step}
    write_manifest(out, "finetune", to_dict(cfg), inputs=[cfg.input], counts=counts, timings={"train": wall})
    return {k: v for k, v in summary.items() if k != "log_history"}


if __name__ == "__main__":
    # `accelerate launch -m codecurate.finetune.train ...` (docs/finetune.md) is `codecurate finetune ...`, run
    # through the package's entry point (codecurate/__main__.py) so that this stage never imports the CLI.
    import runpy
    import sys

    sys.argv[1:1] = ["finetune"]
    runpy.run_module("codecurate", run_name="__main__", alter_sys=True)
