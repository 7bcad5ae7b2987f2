"""The GPU fast path: CUDA graphs and ``torch.compile`` around the denoiser, never the loop.

An eager SD1.5 step on a fast GPU spends most of its time in Python and kernel launches,
not in the math. Two remedies, chosen by the ``acceleration`` setting:

- ``graphs``: the whole denoiser call (UNet, ControlNets, CFG combine) is captured in one
  CUDA graph per *shape key* and replayed every step. Capture needs static addresses, so
  every tensor the call reads lives in a static buffer: per-run tensors (text embeddings,
  added conditions, control images, the guidance scale) are copied in once per run,
  per-step ones (latents, timestep, ControlNet scales) every step. Graphs are stored with
  the model (a weak map keyed by the UNet module), so they are dropped with it when the
  model cache lets it go; LoRA patches change weights in place, so a captured graph stays
  valid across LoRA changes.
- ``compile``: ``torch.compile`` of the same call, with inductor's cache persisted under the
  Daguerre home so a second launch does not pay for it again. Compilation runs on a
  background thread; the first images run eager and the compiled call is swapped in when it
  is ready. On CUDA the compiled call is then captured in graphs as above.

``auto`` is ``graphs`` on CUDA and ``off`` elsewhere. Whatever goes wrong — a capture that
fails, a compile error — falls back to eager with one log line, never a failed run.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from nodes.diffusion.denoiser import Denoiser, Graphable, Tensors

log = logging.getLogger("daguerre.acceleration")

Mode = Literal["off", "graphs", "compile"]
MODES: tuple[Mode, ...] = ("off", "graphs", "compile")

Forward = Callable[[torch.Tensor, torch.Tensor, Tensors], torch.Tensor]


def resolve_mode(setting: str, device: torch.device) -> Mode:
    """The mode a run uses: ``auto`` → ``graphs`` on CUDA, ``off`` elsewhere; ``graphs``
    asked for off CUDA is ``off`` (CUDA graphs exist only there)."""
    if setting == "auto":
        return "graphs" if device.type == "cuda" else "off"
    if setting == "graphs":
        return "graphs" if device.type == "cuda" else "off"
    if setting in ("off", "compile"):
        return setting  # type: ignore[return-value]
    raise ValueError(f"unknown acceleration {setting!r} (auto, off, graphs, compile)")


def shape_key(x: torch.Tensor, t: torch.Tensor, inputs: Tensors) -> tuple[Hashable, ...]:
    """What a captured graph is valid for: every input's name, shape, dtype and device.

    Batch, latent size, token length, the number of controls (their tensors' names) and
    the dtype all show in it; values never do, since they are copied in at every call.
    """
    parts: list[Hashable] = [_sig(x), _sig(t)]
    parts.extend((name, _sig(v)) for name, v in sorted(inputs.items()))
    return tuple(parts)


def _sig(t: torch.Tensor) -> tuple[Hashable, ...]:
    return (tuple(t.shape), str(t.dtype), str(t.device))


# --- captured calls ----------------------------------------------------------------------


class Replay:
    """A captured call: static buffers in, static output out."""

    def __init__(
        self,
        static: dict[str, torch.Tensor],
        output: torch.Tensor,
        run: Callable[[], None],
        modules: tuple[torch.nn.Module, ...],
    ) -> None:
        self.static = static
        self.output = output
        self._run = run
        self._modules = tuple(weakref.ref(m) for m in modules)
        self.replays = 0

    def valid_for(self, modules: tuple[torch.nn.Module, ...]) -> bool:
        """Captured with exactly these modules (a graph holds their weights' addresses)."""
        return len(modules) == len(self._modules) and all(
            ref() is m for ref, m in zip(self._modules, modules, strict=True)
        )

    def __call__(self, tensors: Mapping[str, torch.Tensor]) -> torch.Tensor:
        for name, value in tensors.items():
            self.static[name].copy_(value)
        self._run()
        self.replays += 1
        # The schedulers keep model outputs between steps (multistep solvers); the static
        # output is overwritten by the next replay, so hand out a copy.
        return self.output.clone()


Capture = Callable[[Forward, dict[str, torch.Tensor], tuple[torch.nn.Module, ...], Any], Replay]
"""``capture(forward, static buffers, modules, pool) -> Replay`` (injectable for tests)."""


def cuda_capture(
    forward: Forward,
    static: dict[str, torch.Tensor],
    modules: tuple[torch.nn.Module, ...],
    pool: Any,
) -> Replay:
    """Capture ``forward`` on the static buffers in a CUDA graph (after a warm-up on a side
    stream, as CUDA graphs require)."""
    x, t = static["x"], static["t"]
    inputs = {k: v for k, v in static.items() if k not in ("x", "t")}
    device = x.device
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):
        for _ in range(2):
            forward(x, t, inputs)
    torch.cuda.current_stream(device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, pool=pool):
        output = forward(x, t, inputs)
    return Replay(static, output, graph.replay, modules)


@dataclass
class GraphStore:
    """The graphs of one model, by shape key (and which call: eager or compiled)."""

    replays: dict[Hashable, Replay] = field(default_factory=dict)
    failed: set[Hashable] = field(default_factory=set)
    """Keys whose capture failed: eager from then on, without retrying every step."""
    pool: Any = None
    """One CUDA memory pool shared by the model's graphs."""
    compiled: dict[Hashable, CompiledCall] = field(default_factory=dict)


_STORE_ATTRIBUTE = "_daguerre_graphs"
_stores_lock = threading.Lock()
MAX_COMPILED = 4
"""Compiled calls kept per model: each holds the modules it was compiled with."""


def store_for(module: torch.nn.Module) -> GraphStore:
    """The graph store living with ``module``.

    It is an attribute of the module, not an entry in a global table, because compiled
    calls must reference the modules they run: held by the module itself, the store is
    collected with it when the model cache lets the model go.
    """
    with _stores_lock:
        store = module.__dict__.get(_STORE_ATTRIBUTE)
        if store is None:
            store = GraphStore()
            module.__dict__[_STORE_ATTRIBUTE] = store
        return store


def forget_graphs(module: torch.nn.Module) -> None:
    """Drop ``module``'s captured graphs and compiled calls. Call it after anything that
    reallocates its parameters (``module.to(dtype)``): a graph replays the addresses it
    captured, which would then be freed memory. (LoRA patches change weights in place and
    need no call.)"""
    with _stores_lock:
        module.__dict__.pop(_STORE_ATTRIBUTE, None)


# --- background compile ------------------------------------------------------------------


Compiler = Callable[[Forward], Forward]


def torch_compiler(forward: Forward) -> Forward:
    """``torch.compile`` with inductor's caches under the Daguerre home."""
    _persist_compile_cache()
    return torch.compile(forward, dynamic=False)  # type: ignore[return-value]


def compile_cache_dir() -> Path:
    from nodes.paths import home_dir

    return home_dir() / "cache" / "torch-compile"


def _persist_compile_cache() -> None:
    """Point inductor's and Triton's caches at the Daguerre home, unless the user chose
    other folders. (Inductor writes its default into ``TORCHINDUCTOR_CACHE_DIR`` the first
    time anything asks for it, so a value equal to that default is not the user's.)"""
    directory = compile_cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    default = None
    try:
        from torch._inductor.runtime.cache_dir_utils import default_cache_dir

        default = default_cache_dir()
    except (ImportError, AttributeError):  # another torch layout: only fill a gap
        pass
    current = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    if current is None or current == default:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(directory)
    os.environ.setdefault("TRITON_CACHE_DIR", str(directory / "triton"))
    try:
        import torch._inductor.config as inductor

        inductor.fx_graph_cache = True
    except (ImportError, AttributeError):  # older torch: its default
        pass


_active_compiles: set[threading.Thread] = set()
_exit_hook_installed = threading.Event()
_active_lock = threading.Lock()


def compiling() -> bool:
    """Whether a background compile is running anywhere in this process. No graph is
    captured meanwhile: a capture must not race another thread's kernel launches."""
    with _active_lock:
        return bool(_active_compiles)


def wait_for_compiles(timeout: float | None = None) -> None:
    """Let running compiles finish. Registered at exit: a compile interrupted by the
    interpreter's teardown aborts the process, and a finished one fills the persistent
    cache so the next launch does not pay for it."""
    with _active_lock:
        threads = list(_active_compiles)
    if threads:
        log.info("waiting for torch.compile to finish (cached for the next launch)")
    for thread in threads:
        thread.join(timeout)


class CompiledCall:
    """A compiled ``forward``, compiled on a background thread by running it once.

    Until :attr:`ready`, callers use the eager call; a compile error leaves it never ready
    (and logs once). The thread works on its own copies of the inputs.
    """

    def __init__(self, forward: Forward, compiler: Compiler) -> None:
        self.eager = forward
        self.compiler = compiler
        self.compiled: Forward | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._started = False
        self._lock = threading.Lock()
        self.thread: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self.compiled is not None

    def start(self, x: torch.Tensor, t: torch.Tensor, inputs: Tensors) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        example = (x.clone(), t.clone(), {k: v.clone() for k, v in inputs.items()})
        threads = torch.get_num_threads()  # per thread in torch: give it the caller's
        self.thread = threading.Thread(
            target=self._compile, args=(*example, threads), name="daguerre-compile", daemon=True
        )
        with _active_lock:
            if not _active_compiles and not _exit_hook_installed.is_set():
                atexit.register(wait_for_compiles)
                _exit_hook_installed.set()
            _active_compiles.add(self.thread)
        self.thread.start()

    def _compile(self, x: torch.Tensor, t: torch.Tensor, inputs: Tensors, threads: int) -> None:
        torch.set_num_threads(threads)
        try:
            with torch.inference_mode():
                compiled = self.compiler(self.eager)
                compiled(x, t, inputs)  # compiles for these shapes
            self.compiled = compiled
            log.info("compiled denoiser ready; swapping it in")
        except Exception as exc:  # any compiler failure: stay eager
            self.error = exc
            log.warning("torch.compile failed, staying eager: %s", exc)
        finally:
            self._ready.set()
            with _active_lock:
                _active_compiles.discard(threading.current_thread())

    def wait(self, timeout: float | None = None) -> bool:
        """Block until compiled (for benchmarks and tests); True when the call is ready."""
        self._ready.wait(timeout)
        return self.ready


# --- the wrapper the sampler gets ----------------------------------------------------------


class AcceleratedDenoiser:
    """A :class:`~nodes.diffusion.denoiser.Graphable` run through graphs and/or compile."""

    def __init__(
        self,
        inner: Graphable,
        mode: Mode,
        *,
        store: GraphStore | None = None,
        capture: Capture = cuda_capture,
        compiler: Compiler = torch_compiler,
        graphs: bool | None = None,
    ) -> None:
        self.inner = inner
        self.mode = mode
        modules = inner.modules()
        self.modules = modules
        self.store = store if store is not None else store_for(modules[0])
        self.capture = capture
        self.compiler = compiler
        self.graphs = mode == "graphs" if graphs is None else graphs
        """Whether calls are captured (``graphs``; ``compile`` on CUDA captures too)."""
        self._bound: set[Hashable] = set()
        self._key: Hashable | None = None
        """This run's shape key: shapes are static across a run's steps, so it is computed
        at the first step only (the per-step path stays short)."""
        self.eager_calls = 0
        self.graph_calls = 0
        self.compiled_calls = 0

    def __call__(self, x: torch.Tensor, t: torch.Tensor, step: int) -> torch.Tensor:
        inputs = {**self.inner.inputs, **self.inner.step_inputs(step)}
        if self._key is None:
            self._key = shape_key(x, t, inputs)
        key = self._key
        forward, which = self._forward(key, x, t, inputs)
        # While a compile runs on its thread, nothing is captured: a capture must not race
        # another thread's kernel launches.
        if not self.graphs or compiling():
            self._count(which)
            return forward(x, t, inputs)
        graph_key = (which, key)
        if graph_key in self.store.failed:
            self._count(which)
            return forward(x, t, inputs)
        replay = self.store.replays.get(graph_key)
        if replay is not None and not replay.valid_for(self.modules):
            replay = None
        if replay is None:
            replay = self._capture(graph_key, forward, x, t, inputs)
            if replay is None:
                self._count(which)
                return forward(x, t, inputs)
        tensors: dict[str, torch.Tensor] = {"x": x, "t": t}
        if graph_key in self._bound:
            tensors |= self.inner.step_inputs(step)
        else:  # first call of this run: the per-run tensors too
            tensors |= inputs
            self._bound.add(graph_key)
        self.graph_calls += 1
        return replay(tensors)

    def _forward(
        self, key: Hashable, x: torch.Tensor, t: torch.Tensor, inputs: Tensors
    ) -> tuple[Forward, str]:
        if self.mode != "compile":
            return self.inner.forward, "eager"
        # A compiled call runs the modules of the run that made it: key it by them too.
        compiled_key = (key, tuple(id(m) for m in self.modules))
        call = self.store.compiled.get(compiled_key)
        if call is None:
            while len(self.store.compiled) >= MAX_COMPILED:
                self.store.compiled.pop(next(iter(self.store.compiled)))
            call = CompiledCall(self.inner.forward, self.compiler)
            self.store.compiled[compiled_key] = call
        if call.compiled is not None and call.ready:
            return call.compiled, "compiled"
        call.start(x, t, inputs)
        return self.inner.forward, "eager"

    def _count(self, which: str) -> None:
        if which == "compiled":
            self.compiled_calls += 1
        else:
            self.eager_calls += 1

    def _capture(
        self,
        graph_key: Hashable,
        forward: Forward,
        x: torch.Tensor,
        t: torch.Tensor,
        inputs: Tensors,
    ) -> Replay | None:
        static = {"x": x.clone(), "t": t.clone()} | {k: v.clone() for k, v in inputs.items()}
        if self.store.pool is None and x.device.type == "cuda":
            self.store.pool = torch.cuda.graph_pool_handle()
        try:
            replay = self.capture(forward, static, self.modules, self.store.pool)
        except Exception as exc:  # any capture failure: eager, and say so once
            self.store.failed.add(graph_key)
            log.warning("CUDA graph capture failed, running eager: %s", exc)
            return None
        self.store.replays[graph_key] = replay
        self._bound.add(graph_key)  # captured on this run's values
        return replay


def accelerate(inner: Graphable, setting: str, device: torch.device) -> Denoiser:
    """The run's denoiser as ``setting`` wants it on ``device`` (``inner`` itself for off)."""
    mode = resolve_mode(setting, device)
    if mode == "off":
        return inner
    graphs = device.type == "cuda"  # compile on CUDA is captured as well
    return AcceleratedDenoiser(inner, mode, graphs=graphs)


# --- VAE decode ---------------------------------------------------------------------------


def decode(vae: torch.nn.Module, latents: torch.Tensor, setting: str) -> torch.Tensor:
    """``vae.decode(latents)`` (VAE space), replayed from a CUDA graph per latent shape when
    ``setting`` resolves to graphs on this device; eager otherwise or if capture fails."""

    def forward(x: torch.Tensor, t: torch.Tensor, inputs: Tensors) -> torch.Tensor:
        return vae.decode(x, return_dict=False)[0]  # type: ignore[operator]

    off = resolve_mode(setting, latents.device) == "off"
    if off or latents.device.type != "cuda" or compiling():
        return forward(latents, latents, {})
    store = store_for(vae)
    key = ("decode", _sig(latents))
    if key in store.failed:
        return forward(latents, latents, {})
    replay = store.replays.get(key)
    if replay is None:
        static = {"x": latents.clone(), "t": torch.zeros((), device=latents.device)}
        if store.pool is None:
            store.pool = torch.cuda.graph_pool_handle()
        try:
            replay = cuda_capture(forward, static, (vae,), store.pool)
        except Exception as exc:
            store.failed.add(key)
            log.warning("CUDA graph capture of the VAE decode failed, running eager: %s", exc)
            return forward(latents, latents, {})
        store.replays[key] = replay
    return replay({"x": latents})
