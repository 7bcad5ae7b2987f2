"""The one exception a malformed workflow file raises."""

from __future__ import annotations


class WorkflowError(Exception):
    """A workflow file cannot be read; ``path`` is the JSON path of the problem (``$.a[0]``)."""

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__(f"{path}: {message}")
        self.message = message
        self.path = path


def child(path: str, key: str | int) -> str:
    """The JSON path of ``key`` below ``path``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if key.isidentifier():
        return f"{path}.{key}"
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{path}["{escaped}"]'
