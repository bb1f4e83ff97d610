"""The runnable Python source of a seed: its module context, then the function, then what makes it callable.

    source = seed_program(seed)                      # the seed as mined
    source = seed_program(seed, code=answer)         # a generated answer in the seed's place

Mining keeps, beside each function, the module context it needs to run alone (``context``: imports and the
module-level definitions it references) and says whether it can (``runnable``, ``runnable_reason``). Test
writing (generate/seedtests.py) and validation (generate/validate.py) both build their programs here, so the
seed tests ran against exactly what the answers are later checked against.
"""

from __future__ import annotations


def seed_program(seed: dict, code: str | None = None) -> str:
    """Python source that defines the seed's function (or ``code`` in its place) at module level, with its
    context before it, so that ``func_name(...)`` works in a test appended after it."""
    body = seed["code"] if code is None else code
    context = seed.get("context") or ""
    return f"{context}\n\n{body}\n" if context else f"{body}\n"
