"""The one exception a malformed workflow file raises."""

from __future__ import annotations

import json

TEXT_LIMIT = 1000
"""The most characters of a message, and of a path, a WorkflowError carries: a file can put
a 100,000-character id or version where a message quotes it, and the message must stay one
readable line (the middle is cut, so the start and the explanation at the end remain)."""


def _cut(text: str) -> str:
    if len(text) <= TEXT_LIMIT:
        return text
    half = TEXT_LIMIT // 2 - 20
    return f"{text[:half]} …[{len(text) - 2 * half} characters]… {text[-half:]}"


class WorkflowError(Exception):
    """A workflow file cannot be read; ``path`` is the JSON path of the problem (``$.a[0]``)."""

    def __init__(self, message: str, path: str = "$") -> None:
        message, path = _cut(message), _cut(path)
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
