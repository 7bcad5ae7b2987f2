"""The GPU benchmark runs end to end on a CPU with its tiny models and ends in a parseable
``RESULT gpu_sd15`` line (it cannot be run on its real GPU here; this keeps it from rotting)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu" / "gpu_sd15.py"


def test_gpu_benchmark_tiny_cpu_run_ends_in_a_result_line(tmp_path: Path) -> None:
    env = {**os.environ, "DAGUERRE_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    env.pop("DAGUERRE_MODELS", None)
    command = [sys.executable, str(SCRIPT), "--tiny", "--device", "cpu", "--repeats", "1"]
    command += ["--no-cold", "--only", "sd15"]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]

    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("RESULT gpu_sd15 "), last
    pairs = dict(item.split("=", 1) for item in last.removeprefix("RESULT gpu_sd15 ").split())
    for key in ("sd15_off_ms_per_step", "sd15_graphs_ms_per_step", "sd15_e2e_ms"):
        assert math.isfinite(float(pairs[key])) and float(pairs[key]) > 0, (key, pairs[key])
    # On the CPU graphs resolve to eager: the same image as off, and (CPU fp32 parity)
    # the hand-written loop and the pipeline make it too.
    assert pairs["sd15_psnr_graphs"] == "inf"
    assert pairs["sd15_psnr_hand"] == "inf"
    assert pairs["sd15_psnr_pipe"] == "inf"
    assert float(pairs["sd15_peak_gib"]) == 0.0
    # Not measured here: compile is skipped on CPU, the cold start with --no-cold, no SDXL.
    for key in ("sd15_compile_ms_per_step", "sd15_cold_graphs_s", "sdxl_e2e_ms"):
        assert pairs[key] == "na", (key, pairs[key])
