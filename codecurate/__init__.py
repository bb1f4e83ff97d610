"""codecurate: small, diverse, validated instruction datasets for code LLMs."""

__version__ = "0.1.0"
