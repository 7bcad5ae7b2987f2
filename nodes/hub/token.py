"""The Hugging Face access token a user pastes for gated or private repos.

Stored with the platform's usual secret store when the ``keyring`` package is installed
(Keychain, Windows Credential Manager, Secret Service), else in ``<home>/config/hf_token``,
readable by its owner only (0600). When Daguerre has none, the token ``huggingface_hub``
already knows is used (``$HF_TOKEN``, or ``hf auth login``). The token is never logged,
printed or put in an error message; :func:`mask` is what may be shown.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from nodes.paths import home_dir

KEYRING_SERVICE = "Daguerre"
KEYRING_USER = "huggingface-token"


def token_file() -> Path:
    return home_dir() / "config" / "hf_token"


def _keyring() -> object | None:
    try:
        import keyring  # type: ignore[import-not-found]
    except ImportError:
        return None
    return keyring  # type: ignore[no-any-return]


def save_token(token: str) -> str:
    """Store ``token`` (stripped); an empty one clears it. Returns where it went, in words."""
    token = token.strip()
    if not token:
        clear_token()
        return "cleared"
    ring = _keyring()
    if ring is not None:
        try:
            ring.set_password(KEYRING_SERVICE, KEYRING_USER, token)  # type: ignore[attr-defined]
            token_file().unlink(missing_ok=True)
            return "the system keyring"
        except Exception:  # no usable backend (a headless Linux): fall back to the file
            pass
    path = token_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, token.encode("utf-8"))
    finally:
        os.close(fd)
    return str(path)


def stored_token() -> str | None:
    """Daguerre's stored token, or None."""
    ring = _keyring()
    if ring is not None:
        try:
            value = ring.get_password(KEYRING_SERVICE, KEYRING_USER)  # type: ignore[attr-defined]
            if value:
                return str(value)
        except Exception:
            pass
    try:
        value = token_file().read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return value or None


def clear_token() -> None:
    ring = _keyring()
    if ring is not None:
        with contextlib.suppress(Exception):  # nothing stored, or no usable backend
            ring.delete_password(KEYRING_SERVICE, KEYRING_USER)  # type: ignore[attr-defined]
    token_file().unlink(missing_ok=True)


def resolve_token(given: str | None = None) -> str | None:
    """The token to send: ``given``, else Daguerre's stored one, else ``huggingface_hub``'s
    (``$HF_TOKEN`` or its login), else None."""
    if given and given.strip():
        return given.strip()
    stored = stored_token()
    if stored:
        return stored
    try:
        from huggingface_hub import get_token
    except ImportError:
        return None
    return get_token() or None


def mask(token: str | None) -> str:
    """What may be shown of a token: ``hf_…x9z2`` (the last 4 characters), or ``none``."""
    if not token:
        return "none"
    return f"{token[:3]}…{token[-4:]}" if len(token) > 12 else "set"
