"""Encoder cost per text at 256 tokens on this CPU, MiniLM against roberta-large, for the capacity plan (docs/scale.md).

    nice python bench/encoder_scale.py                       # about 2 minutes on 2 cores
    python bench/encoder_scale.py --data ../shared/data/codexglue_code_to_text_6lang_tiny/all_6lang.jsonl

Rows: the transformer forward pass alone on (batch, 256) token ids, fp32 and bf16, for all-MiniLM-L6-v2 (the
embedded weights) and for a roberta-large-shaped model (24 layers, 1024 wide; random weights: the cost of a forward
pass does not depend on the weight values, and the real weights are not on this machine). Each row prints
texts/s, the FLOPs per text from the layer shapes (``2 x weights x tokens`` plus attention scores), the achieved
GFLOP/s, and the hours 2M texts would take on this CPU. The baseline is MiniLM fp32.

With ``--data`` (jsonl with a ``code`` field, e.g. real CodeSearchNet rows), it also prints the MiniLM token length
of those functions (how many reach the 256-token cap) and the fast tokenizer's texts/s (one batch call per pass).
"""

from __future__ import annotations

import argparse
import json
import os
import time

N_TARGET = 2_000_000
SEQ = 256


def flops_per_text(layers: int, hidden: int, inter: int, seq: int = SEQ) -> float:
    """Forward FLOPs of one sequence: 2 per weight per token (QKV, output, FFN) plus QK^T and AV (2 x 2 x seq x h)."""
    per_token_layer = 2 * (4 * hidden * hidden + 2 * hidden * inter) + 4 * seq * hidden
    return float(seq * layers * per_token_layer)


def time_forward(model: object, vocab: int, batch: int, n_texts: int, dtype: object) -> float:
    """Texts per second of ``model(input_ids)`` on random ids, after one warm-up batch."""
    import torch

    model = model.to(dtype).eval()
    ids = torch.randint(5, vocab, (batch, SEQ), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        model(input_ids=ids, attention_mask=mask)
        start = time.perf_counter()
        for _ in range(max(1, n_texts // batch)):
            model(input_ids=ids, attention_mask=mask)
    return max(1, n_texts // batch) * batch / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="", help="jsonl with a 'code' field: token lengths and tokenizer speed")
    ap.add_argument("--minilm-texts", type=int, default=256, help="texts timed per MiniLM row")
    ap.add_argument("--large-texts", type=int, default=16, help="texts timed per roberta-large row")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModel, AutoTokenizer, RobertaConfig, RobertaModel

    from codecurate.models import resolve_encoder

    torch.manual_seed(0)
    minilm_dir = resolve_encoder("minilm")
    minilm = AutoModel.from_pretrained(minilm_dir)
    mc = minilm.config
    large_cfg = RobertaConfig(
        vocab_size=50265, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
        max_position_embeddings=514, type_vocab_size=1,
    )  # fmt: skip
    models = [
        ("all-MiniLM-L6-v2 (22M, 384-d)", minilm, mc.vocab_size, 32, args.minilm_texts,
         flops_per_text(mc.num_hidden_layers, mc.hidden_size, mc.intermediate_size)),
        ("roberta-large shape (355M, 1024-d)", RobertaModel(large_cfg), large_cfg.vocab_size, 8, args.large_texts,
         flops_per_text(24, 1024, 4096)),
    ]  # fmt: skip
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, seq {SEQ}", flush=True)
    rows = []
    for name, model, vocab, batch, n_texts, flops in models:
        for dtype in (torch.float32, torch.bfloat16):
            rate = time_forward(model, vocab, batch, n_texts, dtype)
            rows.append((name, str(dtype).removeprefix("torch."), batch, rate, flops))
            print(f"  {name} {dtype}: {rate:.1f} texts/s", flush=True)
    base = rows[0][3]
    print(f"\n| model | dtype | batch | texts/s | GFLOP/text | GFLOP/s | x MiniLM fp32 | {N_TARGET:,} texts, h |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, dtype, batch, rate, flops in rows:
        print(f"| {name} | {dtype} | {batch} | {rate:.1f} | {flops / 1e9:.1f} | {rate * flops / 1e9:.0f} | "
              f"{rate / base:.3f}x | {N_TARGET / rate / 3600:,.1f} |")  # fmt: skip

    if args.data:
        with open(args.data, encoding="utf-8") as f:
            codes = [json.loads(line)["code"] for line in f if line.strip()]
        tok = AutoTokenizer.from_pretrained(minilm_dir)
        lengths = sorted(len(ids) for ids in tok(codes, add_special_tokens=True)["input_ids"])
        reps = max(1, 2000 // len(codes))
        start = time.perf_counter()
        for _ in range(reps):
            tok(codes, truncation=True, max_length=SEQ)
        tok_rate = reps * len(codes) / (time.perf_counter() - start)
        capped = sum(n >= SEQ for n in lengths)
        print(f"\n{len(codes)} functions from {args.data}: MiniLM tokens median {lengths[len(lengths) // 2]}, "
              f"mean {sum(lengths) / len(lengths):.0f}, max {lengths[-1]}; {capped} ({capped / len(codes):.0%}) "
              f"reach the {SEQ}-token cap; tokenizer {tok_rate:,.0f} texts/s (batch call)")  # fmt: skip


if __name__ == "__main__":
    main()
