"""Peak memory of a 4× model upscale of a 1024² image (a 4096² output) on the CPU, tiled
(512 px tiles, 32 px overlap: the node's defaults) against the same model run untiled.

Each variant runs in its own process, and its peak resident memory (``ru_maxrss``) is
compared with its resident memory just before the upscale, after the imports, the model
and the input are loaded. The output itself is 4096²×3 float32 = 192 MiB; target: the
tiled run's extra memory stays under 2× the output — the output plus one tile's work,
about 4 × (4·tile)² × 3 × 4 bytes for this model, whatever the image size — while the
untiled run's grows with the whole image's activations. (With ``--arch esrgan``, whose
4× stages keep 8-channel activations at the output size, one 512 px tile's work is about
600 MiB: measured 0.8 GiB extra tiled, 2.3 GiB untiled.) ``--side`` and ``--tile`` change
the sizes (tests/diffusion/test_upscale_memory.py runs a small case).

The model is the demo upscale model (``nodes.models.demo_upscale``, a Real-ESRGAN Compact
network), or with ``--arch esrgan`` a one-block ESRGAN (much slower). Where torchvision
cannot be imported, spandrel is imported with the tests' stand-in (tests/spandrel_import.py).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIDE = 1024
TILE, OVERLAP = 512, 32


def _rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _variant(name: str, arch: str, side: int, tile: int) -> dict[str, float]:
    import torch

    from nodes.models.demo_upscale import make_demo_upscale_model
    from nodes.models.upscale import load_upscale_model
    from nodes.models.upscale_tiles import upscale_image
    from tests.spandrel_import import import_spandrel

    torch.set_num_threads(1)
    import_spandrel()
    with tempfile.TemporaryDirectory() as folder:
        if arch == "esrgan":
            from tests.upscale_fixtures import esrgan, save_pth

            path = save_pth(Path(folder) / "esrgan.pth", esrgan().state_dict())
        else:
            path = make_demo_upscale_model(Path(folder))
        model = load_upscale_model(path, device=torch.device("cpu"), dtype=torch.float32)
    image = torch.rand(1, side, side, 3)
    tile = tile if name == "tiled" else 4 * side
    before = _rss_mib()
    start = time.perf_counter()
    out = upscale_image(model, image, tile=tile, overlap=OVERLAP)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert out.shape == (1, side * 4, side * 4, 3)
    return {"before_mib": before, "peak_mib": peak, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description="Peak memory of a tiled 4× model upscale")
    parser.add_argument("--arch", choices=("compact", "esrgan"), default="compact")
    parser.add_argument("--side", type=int, default=SIDE, help="input side (output is 4×)")
    parser.add_argument("--tile", type=int, default=TILE, help="tile side in input pixels")
    parser.add_argument("--variant", choices=("tiled", "untiled"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(_variant(args.variant, args.arch, args.side, args.tile)))
        return
    results = {}
    for name in ("tiled", "untiled"):
        command = [sys.executable, __file__, "--variant", name, "--arch", args.arch]
        command += ["--side", str(args.side), "--tile", str(args.tile)]
        done = subprocess.run(
            command,
            check=True,
            capture_output=True,
            text=True,
        )
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    output_mib = (4 * args.side) ** 2 * 3 * 4 / 2**20
    extra = {n: r["peak_mib"] - r["before_mib"] for n, r in results.items()}
    for name, r in results.items():
        print(
            f"{name:8} before {r['before_mib']:7.0f} MiB  peak {r['peak_mib']:7.0f} MiB  "
            f"extra {extra[name]:7.0f} MiB  {r['seconds']:.1f} s"
        )
    print(f"output {output_mib:.0f} MiB ({4 * args.side}² × 3 float32)")
    print(
        f"RESULT upscale_memory arch={args.arch} output={4 * args.side} tile={args.tile} "
        f"output_mib={output_mib:.0f} tiled_peak_mib={results['tiled']['peak_mib']:.0f} "
        f"tiled_extra_mib={extra['tiled']:.0f} untiled_extra_mib={extra['untiled']:.0f} "
        f"tiled_extra_over_output={extra['tiled'] / output_mib:.2f} "
        f"untiled_over_tiled={extra['untiled'] / extra['tiled']:.2f}"
    )


if __name__ == "__main__":
    main()
