"""Tree-sitter parsers per language, shared by the mine extractors and generate's syntax rule.

Grammars come from the tree-sitter organisation's wheels (``tree-sitter-javascript`` etc.), which ship compiled
grammars; ``tree-sitter-language-pack`` >= 1.0 downloads grammars at first use, which fails offline, so it is
only tried as a fallback when a grammar wheel is missing.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

from codecurate.errors import UserError

# Grammar wheel module and the function returning its language pointer.
GRAMMARS = {
    "javascript": ("tree_sitter_javascript", "language"),
    "java": ("tree_sitter_java", "language"),
    "go": ("tree_sitter_go", "language"),
    "ruby": ("tree_sitter_ruby", "language"),
    "php": ("tree_sitter_php", "language_php"),  # language_php also accepts HTML around <?php tags
}


@functools.cache
def parser_for(language: str) -> Any:
    """A tree-sitter parser for `language` (cached per process). KeyError for a language without a grammar
    entry; `UserError` (one line, naming the wheel to install) when its grammar is not installed."""
    import tree_sitter

    module, fn = GRAMMARS[language]
    try:
        lang = tree_sitter.Language(getattr(importlib.import_module(module), fn)())
    except ImportError:
        try:
            import tree_sitter_language_pack

            lang = tree_sitter_language_pack.get_language(language)
        except Exception as e:  # ImportError, or the pack's DownloadError when offline
            wheel = module.replace("_", "-")
            raise UserError(f"no tree-sitter grammar for {language} ({e}); install it: pip install {wheel}") from None
    return tree_sitter.Parser(lang)
