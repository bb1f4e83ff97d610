"""Prompt tokens per LLM call of `codecurate generate`, for the generation cost in the capacity plan (docs/scale.md).

    python bench/prompt_tokens.py ../shared/data/codexglue_code_to_text_6lang_tiny/all_6lang.jsonl

Plans items from the seeds with the stage's defaults (task mix, translate targets, mutation bugs, one good and one
bad shot, seed code cut at ``max_seed_chars``), builds each generator chat exactly as the loop does on its first
batch (memory pools still empty, so shots come from the template file), and counts tokens with the SmolLM2 chat
template. The discriminator chat needs a reply; it is stood in by the seed code (generate, translate, fix) or a
two-sentence summary, so its count is an estimate. Completion tokens are the stage's budgets (``max_tokens``,
``disc_max_tokens``): an upper bound. Other models' tokenizers give somewhat different counts.
"""

from __future__ import annotations

import argparse
import random
import statistics

from codecurate.generate.examples import parse_mix, plan_items
from codecurate.generate.loop import GenerateConfig, make_bug_fn, read_seeds
from codecurate.generate.templates import discriminator_messages, generation_messages, load_templates
from codecurate.models import resolve_llm

SUMMARY = "The function reads the configuration and returns the parsed values. It raises an error on a missing key."


def stand_in_example(item: object, instruction: str) -> dict:
    """A reply-shaped record for the discriminator prompt (the real one depends on what the generator wrote)."""
    code = item.seed["code"]
    out = {"generate": code, "summarize": SUMMARY, "translate": code, "fix": f"{SUMMARY}\n{code}"}[item.task]
    return {
        "task": item.task, "seed_language": item.seed["language"], "language": item.language,
        "target_language": item.target_language, "instruction": instruction,
        "input": "" if item.task == "generate" else (item.buggy or code), "output": out,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("seeds", help="JSONL with `code` and `language` (e.g. CodeSearchNet rows)")
    args = ap.parse_args()
    from transformers import AutoTokenizer

    cfg = GenerateConfig(input=args.seeds)  # the stage's defaults
    tok = AutoTokenizer.from_pretrained(resolve_llm("smollm2"))

    def count(messages: list[dict]) -> int:
        text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return len(tok(text, add_special_tokens=False)["input_ids"])

    templates = load_templates(cfg.templates)
    seeds = read_seeds(args.seeds, None)
    plan = plan_items(seeds, parse_mix(cfg.mix), cfg.tasks_per_seed, cfg.translate_to, cfg.seed, make_bug_fn())
    gen: dict[str, list[int]] = {}
    disc: dict[str, list[int]] = {}
    for item in plan.items:
        rng = random.Random(f"{cfg.seed}:{item.seed_id}:{item.task}:1")
        spec = templates["tasks"][item.task]
        good = rng.sample(spec["good"], min(cfg.memory.shots_good, len(spec["good"])))
        bad = rng.sample(spec["bad"], min(cfg.memory.shots_bad, len(spec["bad"])))
        msgs = generation_messages(templates, item.task, item.context(), good, bad, "", cfg.max_seed_chars)
        gen.setdefault(item.task, []).append(count(msgs))
        instruction = (spec["good"] or [{"instruction": SUMMARY}])[0].get("instruction", SUMMARY)
        dmsgs = discriminator_messages(templates, stand_in_example(item, instruction), cfg.max_seed_chars)
        disc.setdefault(item.task, []).append(count(dmsgs))

    budgets = f"generator {cfg.sampling.max_tokens}, discriminator {cfg.sampling.disc_max_tokens} tokens"
    print(f"{len(plan.items)} items from {len(seeds)} seeds ({args.seeds}); mix {cfg.mix}; max_seed_chars "
          f"{cfg.max_seed_chars}; budgets: {budgets}")  # fmt: skip
    print("\n| task | items | generator prompt tokens (mean / max) | discriminator prompt tokens (mean / max) |")
    print("|---|---:|---:|---:|")
    for task in sorted(gen):
        g, d = gen[task], disc[task]
        print(f"| {task} | {len(g)} | {statistics.mean(g):.0f} / {max(g)} | {statistics.mean(d):.0f} / {max(d)} |")
    g_all = [n for v in gen.values() for n in v]
    d_all = [n for v in disc.values() for n in v]
    print(f"| all | {len(g_all)} | {statistics.mean(g_all):.0f} / {max(g_all)} | "
          f"{statistics.mean(d_all):.0f} / {max(d_all)} |")  # fmt: skip


if __name__ == "__main__":
    main()
