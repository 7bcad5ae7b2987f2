"""The one exception a malformed workflow file raises."""

from __future__ import annotations

import json


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
    # JSON string syntax escapes quotes and control characters (a key with a newline must
    # not split a one-line message); lone surrogates, which cannot be printed, are escaped.
    quoted = json.dumps(key, ensure_ascii=False)
    return f"{path}[{quoted.encode('utf-8', 'backslashreplace').decode('utf-8')}]"
