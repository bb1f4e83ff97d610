"""The one exception type the CLI turns into a one-line error and a non-zero exit."""


class UserError(Exception):
    """Bad input or configuration: the message names the file, line and field, and is shown as-is."""


def at(path: object, line: int | None = None, field: str | None = None) -> str:
    """Format a location prefix such as ``seeds.jsonl:12: field 'code'``."""
    where = str(path)
    if line is not None:
        where += f":{line}"
    if field is not None:
        where += f": field '{field}'"
    return where
