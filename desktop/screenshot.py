"""``python -m desktop.screenshot OUT.png``: the app after a demo run, for the README.

Runs in a throwaway DAGUERRE_HOME with the tiny demo model (its image is noise), the
default txt2img workflow, one run, then grabs the window at the size it opens with
(:data:`WINDOW_SIZE`), fitted as a first start fits it: so the picture shows what a new
user sees, node titles and fields readable. ``make screenshot`` runs it under Xvfb.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WINDOW_SIZE = (1440, 900)
"""The main window's size on a first start (``MainWindow._restore_layout``)."""


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot.png").resolve()
    home = Path(tempfile.mkdtemp(prefix="daguerre-shot-"))
    os.environ["DAGUERRE_HOME"] = str(home)
    models = home / "models"
    subprocess.run(
        [sys.executable, "-m", "nodes.cli", "make-demo-model", str(models)],
        check=True,
        capture_output=True,
    )

    from desktop.app import application, create_window
    from desktop.theme import apply_theme

    app = application()
    apply_theme(app, "dark")
    window = create_window(ask=False)
    window.resize(*WINDOW_SIZE)
    doc = window.document
    doc.set_param("checkpoint", "path", "sd1-demo.safetensors")
    doc.set_param("latent", "width", 256)
    doc.set_param("latent", "height", 256)
    doc.set_param("sampler", "steps", 12)
    window.show()
    window.canvas.fit_view()
    finished: list[object] = []
    window.run_state.runFinished.connect(finished.append)
    window.run()
    deadline = time.monotonic() + 300
    while not finished and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    print(out)
    window.document.undo_stack.setClean()
    window.close()
    return 0 if finished else 1


if __name__ == "__main__":
    sys.exit(main())
