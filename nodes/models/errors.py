"""The one exception type of `nodes.models`."""

from __future__ import annotations


class ModelError(Exception):
    """A model file or folder cannot be used: missing, unreadable, or not a model we know.

    The message is meant for the person who picked the file: it says what was found, not
    only what was expected. The engine attaches it to the loader node's path field.
    """
