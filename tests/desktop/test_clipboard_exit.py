"""Copied nodes on the clipboard do not crash the process as it exits (Qt's offscreen
platform crashed at exit holding a QMimeData made in Python)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
from PySide6.QtWidgets import QApplication
from desktop.mime import put_workflow_on_clipboard, workflow_of
app = QApplication([])
document = {"format": "daguerre.workflow", "version": 1, "nodes": {}, "links": []}
assert put_workflow_on_clipboard(document)
assert workflow_of(app.clipboard().mimeData()) == document
print("copied")
"""


def test_the_process_exits_cleanly_with_copied_nodes_on_the_clipboard() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    assert done.stdout.strip() == b"copied"
