"""Prompt templates: load the YAML file, render generator and discriminator chats, hash what was used.

The default file is ``prompts/tasks.yaml``; users pass their own with ``--templates``. Few-shot examples (from
the template and from memory) share one shape: ``language``, ``code`` (the seed), optional ``buggy`` and
``target_language``, the reply fields, and for bad ones ``reasons``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codecurate.errors import UserError
from codecurate.io import sha256_text
from codecurate.records import TASKS

DEFAULT_TEMPLATES = Path(__file__).parent / "prompts" / "tasks.yaml"

DISPLAY = {
    "python": "Python", "javascript": "JavaScript", "typescript": "TypeScript", "java": "Java", "go": "Go",
    "cpp": "C++", "c": "C", "rust": "Rust", "ruby": "Ruby", "php": "PHP", "csharp": "C#", "shell": "Bash",
    "ocaml": "OCaml",
}  # fmt: skip


def display(language: str) -> str:
    return DISPLAY.get(language, language.capitalize())


def load_templates(path: str | Path | None = None) -> dict[str, Any]:
    """Read and check a template file; raises `UserError` naming the file and the missing key."""
    from codecurate.config import load_yaml

    path = Path(path) if path else DEFAULT_TEMPLATES
    data = load_yaml(path)
    for key in ("system", "discriminator_system", "tasks"):
        if key not in data:
            raise UserError(f"{path}: missing key '{key}'")
    for task in TASKS:
        spec = data["tasks"].get(task)
        if not isinstance(spec, dict):
            raise UserError(f"{path}: missing task '{task}' under 'tasks'")
        for key in ("definition", "ask", "checklist"):
            if not spec.get(key):
                raise UserError(f"{path}: task '{task}': missing key '{key}'")
        spec.setdefault("good", [])
        spec.setdefault("bad", [])
    data["path"] = str(path)
    return data


def template_hash(templates: dict[str, Any], task: str) -> str:
    """Hash of everything that shapes a task's prompts, recorded on each example (12 hex chars)."""
    used = {k: templates[k] for k in ("system", "discriminator_system")} | {"task": templates["tasks"][task]}
    return sha256_text(json.dumps(used, sort_keys=True))[:12]


def ask_fields(templates: dict[str, Any], task: str, ctx: dict[str, Any]) -> dict[str, str]:
    """The reply fields the model must write for this item (fix without a ready bug also asks for one)."""
    spec = templates["tasks"][task]
    fields = dict(spec["ask"])
    if task == "fix" and not ctx.get("buggy"):
        fields = dict(spec.get("ask_without_bug", {})) | fields
    return fields


def _fill(text: str, ctx: dict[str, Any]) -> str:
    return text.replace("{language}", display(ctx.get("language", ""))).replace(
        "{target_language}", display(ctx.get("target_language") or "")
    )


def render_reply(example: dict[str, Any], fields: list[str]) -> str:
    """An example's reply in the section format the model is asked for."""
    parts = []
    for name in fields:
        value = str(example.get(name, "")).strip()
        sep = "\n" if "\n" in value else " "
        parts.append(f"{name.upper()}:{sep}{value}")
    return "\n".join(parts)


def render_seed(ctx: dict[str, Any], max_chars: int = 1500) -> str:
    """The user turn: the seed code (and for fix, the buggy version first)."""
    lang = ctx.get("language", "")
    code = ctx["code"][:max_chars]
    if ctx.get("buggy"):
        return f"Buggy code:\n```{lang}\n{ctx['buggy'][:max_chars]}\n```\nCorrect code:\n```{lang}\n{code}\n```"
    return f"{display(lang)} code:\n```{lang}\n{code}\n```"


def generation_messages(
    templates: dict[str, Any],
    task: str,
    ctx: dict[str, Any],
    good: list[dict[str, Any]] = (),
    bad: list[dict[str, Any]] = (),
    faults: str = "",
    max_chars: int = 1500,
) -> list[dict[str, str]]:
    """Chat for one generation: system (task + format + bad examples + faults), good examples as turns, seed."""
    spec = templates["tasks"][task]
    fields = ask_fields(templates, task, ctx)
    definition = spec["definition"]
    if task == "fix" and not ctx.get("buggy"):
        definition = spec.get("definition_without_bug", definition)
    fmt = "\n".join(f"{name.upper()}: <{desc}>" for name, desc in fields.items())
    system = templates["system"].replace("{definition}", definition).replace("{format}", fmt)
    for ex in bad:
        reasons = "; ".join(ex.get("reasons", [])) or "rejected"
        system += f"\nA bad reply ({reasons}):\n{render_reply(ex, list(fields))[:400]}"
    if faults:
        system += f"\nAvoid these frequent mistakes: {faults}"
    messages = [{"role": "system", "content": _fill(system, ctx)}]
    for ex in good:
        ex_ctx = {"language": ex.get("language", ""), "target_language": ex.get("target_language")}
        ex_ctx |= {"code": ex.get("code", ""), "buggy": ex.get("buggy") if ctx.get("buggy") else None}
        # Few-shot code is cut shorter than the seed: on CPU every prompt token costs prefill time.
        messages.append({"role": "user", "content": render_seed(ex_ctx, min(max_chars, 400))})
        messages.append({"role": "assistant", "content": render_reply(ex, list(fields))})
    messages.append({"role": "user", "content": render_seed(ctx, max_chars)})
    return messages


def checklist(templates: dict[str, Any], task: str, ctx: dict[str, Any]) -> list[str]:
    return [_fill(q, ctx) for q in templates["tasks"][task]["checklist"]]


def _judged(ex: dict[str, Any], good: bool, max_chars: int) -> str:
    """One earlier example as the judge sees it: what was asked and answered, the verdict and why."""
    answer = ex.get("output") or ex.get("explanation") or ""
    why = ex.get("why", "") if good else "; ".join(ex.get("reasons", []))
    verdict = "ACCEPTED" if good else "REJECTED"
    return f"INSTRUCTION: {ex.get('instruction', '')}\nOUTPUT:\n{str(answer)[:max_chars]}\n{verdict}: {why or '-'}"


def discriminator_messages(
    templates: dict[str, Any],
    example: dict[str, Any],
    max_chars: int = 1500,
    good: list[dict[str, Any]] = (),
    bad: list[dict[str, Any]] = (),
) -> list[dict[str, str]]:
    """Chat asking the discriminator to answer the task's checklist about one example.

    ``good`` / ``bad`` are earlier examples of the same task from the memory pools, shown in the system turn
    with the reasons they were accepted or rejected (CodeOcean's discriminator sees such examples with their
    analyses): the judge learns what this run calls good and bad, not only its checklist.
    """
    task = example["task"]
    ctx = {"language": example.get("seed_language", example.get("language", ""))}
    ctx["target_language"] = example.get("target_language")
    questions = checklist(templates, task, ctx)
    system = templates["discriminator_system"]
    shots = [_judged(ex, True, 300) for ex in good] + [_judged(ex, False, 300) for ex in bad]
    if shots:
        system += "\nEarlier examples of this task and how they were judged:\n" + "\n---\n".join(shots)
    body = f"INSTRUCTION: {example['instruction']}\n"
    if example.get("input"):
        body += f"INPUT:\n{example['input'][:max_chars]}\n"
    body += f"OUTPUT:\n{example['output'][:max_chars]}\n\nQuestions:\n"
    body += "\n".join(f"{i}. {q}" for i, q in enumerate(questions, 1))
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": body},
    ]
