"""Code in a model's answer: Markdown code fences, and the one policy every stage uses to pick the code.

Generate (parsing replies, rules, execution validation, seed tests) and eval (chat answers) all read code out of
model text here, so a reply is judged by the same code whichever stage reads it.
"""

from __future__ import annotations

import re

from codecurate.execute.languages import LANGUAGES, canonical_name

# One Markdown code-fence grammar for every stage: ```tag ...\n body ```; the info string may carry more words.
_FENCE_OPEN = r"```[ \t]*([\w+#.-]*)[^\n]*\n"
# The closing fence starts a line; a last block cut off by the token limit runs to the end of the text (group 3 is
# then None).
FENCE = re.compile(_FENCE_OPEN + r"(.*?)(?:(?<=\n)[ \t]*(```)|\Z)", re.DOTALL)

# Fence tags models write besides a language's name and aliases (codecurate.execute.languages).
_EXTRA_TAGS = {"racket": ("scheme",), "cpp": ("cc",)}


def fenced_blocks(text: str, closed_only: bool = False) -> list[tuple[str, str]]:
    """``(info tag, body)`` of each fenced block in order; an unclosed last block counts unless `closed_only`."""
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(text) if not closed_only or m.group(3)]


def fence_tags(language: str) -> frozenset[str]:
    """The fence info tags (lower case) that name `language`: its name, its aliases and a few common extras.
    A language the sandbox does not know is named by itself only."""
    try:
        lang = LANGUAGES[canonical_name(language)]
    except Exception:  # an unknown language is not an error here: it only ranks fences
        return frozenset({language.strip().lower()})
    return frozenset({lang.name, *lang.aliases, *_EXTRA_TAGS.get(lang.name, ())})


def extract_code(text: str, language: str | None = None, must_contain: str | None = None) -> str:
    """The code in a model's answer. The one policy, for every stage:

    1. The candidates are the fenced blocks: each closed block (closing fence at the start of a line), and a
       last block left open (an answer cut by the token limit still yields what was written).
    2. With `language`, blocks tagged with that language (its name or an alias: ```py for Python) or untagged
       rank above blocks tagged with another one (```bash install lines, ```text output).
    3. Then, with `must_contain`, blocks that contain that string (the function's name or signature) rank higher.
    4. Then the longest block wins; the first one on a tie.

    No fenced block: the whole text is the code. Newlines around the result are dropped (indentation is kept).
    """
    blocks = fenced_blocks(text)
    if not blocks:
        return text.strip("\n")
    tags = fence_tags(language) if language else None

    def rank(item: tuple[int, tuple[str, str]]) -> tuple[bool, bool, int, int]:
        i, (tag, body) = item
        tagged_ok = tags is None or not tag or tag.lower() in tags
        has = must_contain is None or must_contain in body
        return tagged_ok, has, len(body), -i

    _, (_, body) = max(enumerate(blocks), key=rank)
    return body.strip("\n")


def fence(code: str, language: str) -> str:
    """`code` in a fenced block tagged `language`."""
    return f"```{language}\n{code.strip(chr(10))}\n```"
