"""A tiled upscale's memory is the output plus one tile's work, whatever the image size:
``benchmarks/upscale_memory.py`` on a small case (512² → 2048², 128 px tiles), each
variant's peak resident memory measured in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "upscale_memory.py"


def test_tiled_upscale_memory_is_bounded_by_the_output_and_one_tile(tmp_path: Path) -> None:
    env = {**os.environ, "DAGUERRE_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(SCRIPT), "--side", "512", "--tile", "128"]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("RESULT upscale_memory "), last
    pairs = dict(item.split("=", 1) for item in last.removeprefix("RESULT upscale_memory ").split())
    output = float(pairs["output_mib"])
    assert output == 48  # 2048² × 3 float32
    # one 128 px tile's work is ~12 MiB (4 × 512² × 3 float32); the whole image's, ~200
    assert float(pairs["tiled_extra_mib"]) < 2 * output
    assert float(pairs["untiled_extra_mib"]) > 2 * float(pairs["tiled_extra_mib"])
