from __future__ import annotations

import subprocess
import sys


def test_import_is_cheap() -> None:
    """`import nodes.models` must not pull in torch (the CLI's fast paths rely on it)."""
    code = "import sys, nodes.models; print('torch' in sys.modules, 'diffusers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
