"""The acceleration seam on the CPU: modes, shape keys, static buffers, fallback, the
background compile swap and graph lifetime — everything about CUDA graphs and compile that
is not CUDA itself. A stand-in capture replays ``forward`` on the static buffers, exactly
what a CUDA graph does with the addresses it captured, so a buffer that is not refreshed
shows up as a wrong image."""

from __future__ import annotations

import gc
import logging
import threading
import weakref

import numpy as np
import pytest
import torch

from nodes.context import Environment
from nodes.diffusion import acceleration, sampling
from nodes.diffusion.acceleration import (
    AcceleratedDenoiser,
    CompiledCall,
    GraphStore,
    Replay,
    resolve_mode,
    shape_key,
    store_for,
)
from nodes.events import RunStatus
from nodes.executor import Executor
from tests.diffusion.conftest import tiny


def test_modes_resolve_per_device() -> None:
    cpu, cuda = torch.device("cpu"), torch.device("cuda", 1)
    assert resolve_mode("auto", cpu) == "off"
    assert resolve_mode("auto", cuda) == "graphs"
    assert resolve_mode("graphs", cpu) == "off"  # CUDA graphs exist only on CUDA
    assert resolve_mode("graphs", cuda) == "graphs"
    assert resolve_mode("compile", cpu) == "compile"
    assert resolve_mode("off", cuda) == "off"
    with pytest.raises(ValueError, match="unknown acceleration 'turbo'"):
        resolve_mode("turbo", cpu)


def test_shape_keys_ignore_values_and_see_shapes() -> None:
    x, t = torch.zeros(2, 4, 8, 8), torch.tensor(999.0)
    inputs = {"embeds": torch.zeros(2, 77, 32), "cfg": torch.tensor(7.0)}
    same = shape_key(x + 1, t - 5, {"embeds": torch.ones(2, 77, 32), "cfg": torch.tensor(3.0)})
    assert shape_key(x, t, inputs) == same
    longer = {**inputs, "embeds": torch.zeros(2, 154, 32)}
    assert shape_key(x, t, longer) != shape_key(x, t, inputs)
    controlled = {**inputs, "control.0.image": torch.zeros(2, 3, 64, 64)}
    assert shape_key(x, t, controlled) != shape_key(x, t, inputs)
    assert shape_key(x.half(), t, inputs) != shape_key(x, t, inputs)
    assert shape_key(torch.zeros(1, 4, 8, 8), t, inputs) != shape_key(x, t, inputs)


class FakeGraphs:
    """Captures like CUDA graphs do: the replay reads the static buffers and nothing else."""

    def __init__(self, fail: bool = False) -> None:
        self.captures = 0
        self.fail = fail

    def __call__(self, forward, static, modules, pool) -> Replay:
        self.captures += 1
        if self.fail:
            raise RuntimeError("operation not permitted when stream is capturing")
        x, t = static["x"], static["t"]
        inputs = {k: v for k, v in static.items() if k not in ("x", "t")}
        output = forward(x, t, inputs).clone()

        def run() -> None:
            output.copy_(forward(x, t, inputs))

        return Replay(static, output, run, modules)


@pytest.fixture
def graphed(monkeypatch):
    """Runs sample with graphs on the CPU through a stand-in capture; yields the state."""
    state = {"capture": FakeGraphs(), "store": GraphStore(), "denoisers": []}

    def wrap(inner, setting, device):
        denoiser = AcceleratedDenoiser(
            inner, "graphs", store=state["store"], capture=state["capture"], graphs=True
        )
        state["denoisers"].append(denoiser)
        return denoiser

    monkeypatch.setattr(sampling, "accelerate", wrap)
    return state


def _image(workflow, tmp_path, name: str, overrides: dict, executor=None) -> np.ndarray:
    executor = executor or Executor(env=Environment(output_dir=tmp_path / "out"))
    outcome = executor.run(workflow(name, overrides), capture=("decode",))
    assert outcome.status is RunStatus.DONE, outcome.problems
    return outcome.values["decode"][0].numpy()


def test_graphed_runs_equal_eager_and_rebind_per_run_inputs(
    demo_sd15, workflow, tmp_path, graphed, monkeypatch
) -> None:
    first = tiny(demo_sd15.single_file)
    second = tiny(demo_sd15.single_file, **{"sampler.seed": 7, "positive.text": "a red barn"})
    shared = Executor(env=Environment(output_dir=tmp_path / "out"))  # one model, like the app
    ours_first = _image(workflow, tmp_path, "txt2img", first, shared)
    ours_second = _image(workflow, tmp_path, "txt2img", second, shared)
    assert graphed["capture"].captures == 1  # the same shape key: replayed, not recaptured
    assert all(d.eager_calls == 0 for d in graphed["denoisers"])
    assert sum(d.graph_calls for d in graphed["denoisers"]) == 8
    monkeypatch.undo()
    assert np.array_equal(ours_first, _image(workflow, tmp_path, "txt2img", first))
    # A stale prompt or cfg buffer would reproduce the first image here.
    assert np.array_equal(ours_second, _image(workflow, tmp_path, "txt2img", second))


def test_controlnet_window_is_data_in_the_graph(
    demo_sd15, workflow, tmp_path, graphed, monkeypatch
) -> None:
    from PIL import Image

    control = tmp_path / "control.png"
    pixels = np.zeros((64, 64, 3), dtype=np.uint8)
    pixels[8:40, 8:30] = 255
    Image.fromarray(pixels).save(control)
    overrides = tiny(
        demo_sd15.single_file,
        **{
            "control_image.path": str(control),
            "controlnet.path": str(demo_sd15.controlnet),
            "control.strength": 0.8,
            "control.start": 0.25,
            "control.end": 0.75,
        },
    )
    ours = _image(workflow, tmp_path, "controlnet_canny", overrides)
    assert graphed["capture"].captures == 1
    monkeypatch.undo()
    assert np.array_equal(ours, _image(workflow, tmp_path, "controlnet_canny", overrides))


def test_a_failed_capture_runs_eager_and_logs_once(
    demo_sd15, workflow, tmp_path, graphed, monkeypatch, caplog
) -> None:
    graphed["capture"] = FakeGraphs(fail=True)
    overrides = tiny(demo_sd15.single_file)
    with caplog.at_level(logging.WARNING, logger="daguerre.acceleration"):
        ours = _image(workflow, tmp_path, "txt2img", overrides)
    assert graphed["capture"].captures == 1  # not retried every step
    warnings = [r for r in caplog.records if "capture failed" in r.getMessage()]
    assert len(warnings) == 1
    assert graphed["denoisers"][0].eager_calls == 4
    monkeypatch.undo()
    assert np.array_equal(ours, _image(workflow, tmp_path, "txt2img", overrides))


class _Toy(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(2.0))


class _ToyDenoiser:
    """A Graphable whose prediction is ``x · scale + cfg`` (enough to see which call ran)."""

    def __init__(self, module: torch.nn.Module, cfg: float = 1.0) -> None:
        self.module = module
        self.inputs = {"cfg": torch.tensor(cfg)}
        self.forwards = 0

    def step_inputs(self, step: int) -> dict[str, torch.Tensor]:
        return {}

    def modules(self) -> tuple[torch.nn.Module, ...]:
        return (self.module,)

    def forward(self, x, t, inputs):
        self.forwards += 1
        return x * self.module.scale + inputs["cfg"]

    def __call__(self, x, t, step):
        return self.forward(x, t, {**self.inputs, **self.step_inputs(step)})


def test_a_graph_is_valid_only_for_the_modules_it_captured() -> None:
    store, capture = GraphStore(), FakeGraphs()
    x, t = torch.ones(1, 4, 2, 2), torch.tensor(1.0)
    first = AcceleratedDenoiser(_ToyDenoiser(_Toy()), "graphs", store=store, capture=capture)
    first(x, t, 0)
    toy = _Toy()
    other = _ToyDenoiser(toy)
    with torch.no_grad():
        toy.scale.fill_(3.0)
    out = AcceleratedDenoiser(other, "graphs", store=store, capture=capture)(x, t, 0)
    assert capture.captures == 2
    assert torch.equal(out, x * 3.0 + 1.0)


def test_compile_runs_eager_until_the_background_compile_is_ready() -> None:
    release = threading.Event()
    compiled_calls = []

    def slow_compiler(forward):
        release.wait(10)

        def compiled(x, t, inputs):
            compiled_calls.append(1)
            return forward(x, t, inputs)

        return compiled

    inner = _ToyDenoiser(_Toy())
    denoiser = AcceleratedDenoiser(inner, "compile", store=GraphStore(), compiler=slow_compiler)
    x, t = torch.ones(1, 4, 2, 2), torch.tensor(1.0)
    for step in range(3):
        assert torch.equal(denoiser(x, t, step), x * 2.0 + 1.0)
    assert denoiser.eager_calls == 3 and denoiser.compiled_calls == 0
    # meanwhile no graph is captured anywhere in the process (it would race the compile)
    capture = FakeGraphs()
    graphed = AcceleratedDenoiser(
        _ToyDenoiser(_Toy()), "graphs", store=GraphStore(), capture=capture
    )
    assert acceleration.compiling()
    graphed(x, t, 0)
    assert capture.captures == 0 and graphed.eager_calls == 1
    release.set()
    (call,) = denoiser.store.compiled.values()
    assert call.wait(10)
    acceleration.wait_for_compiles(10)  # what runs at exit: the compile thread has ended
    assert not acceleration.compiling()
    assert torch.equal(denoiser(x, t, 3), x * 2.0 + 1.0)
    assert denoiser.compiled_calls == 1
    graphed(x, t, 1)
    assert capture.captures == 1
    assert len(compiled_calls) == 2  # the warm-up compile run and the swapped-in call


def test_a_compile_error_stays_eager_and_never_fails_the_run(caplog) -> None:
    def broken(forward):
        raise RuntimeError("inductor: no C++ compiler")

    denoiser = AcceleratedDenoiser(
        _ToyDenoiser(_Toy()), "compile", store=GraphStore(), compiler=broken
    )
    x, t = torch.ones(1, 4, 2, 2), torch.tensor(1.0)
    with caplog.at_level(logging.WARNING, logger="daguerre.acceleration"):
        denoiser(x, t, 0)
        (call,) = denoiser.store.compiled.values()
        assert not call.wait(10)
        assert torch.equal(denoiser(x, t, 1), x * 2.0 + 1.0)
    assert denoiser.eager_calls == 2
    assert isinstance(call.error, RuntimeError)
    assert any("torch.compile failed" in r.getMessage() for r in caplog.records)


def test_compiled_call_compiles_once() -> None:
    compiles = []

    def compiler(forward):
        compiles.append(1)
        return forward

    call = CompiledCall(_ToyDenoiser(_Toy()).forward, compiler)
    x, t = torch.ones(1), torch.tensor(1.0)
    call.start(x, t, {"cfg": torch.tensor(1.0)})
    call.start(x, t, {"cfg": torch.tensor(1.0)})
    assert call.wait(10)
    assert compiles == [1]


def test_graphs_and_compiled_calls_are_dropped_with_their_model() -> None:
    module = _Toy()
    store = store_for(module)
    assert store_for(module) is store
    AcceleratedDenoiser(_ToyDenoiser(module), "graphs", capture=FakeGraphs())(
        torch.ones(1), torch.tensor(1.0), 0
    )
    compiling = AcceleratedDenoiser(_ToyDenoiser(module), "compile", compiler=lambda f: f)
    compiling(torch.ones(1), torch.tensor(1.0), 0)
    (call,) = store.compiled.values()
    assert call.wait(10)
    assert len(store.replays) == 1
    alive = weakref.ref(module)
    dead_store = weakref.ref(store)
    del module, store, compiling, call
    gc.collect()
    assert alive() is None and dead_store() is None


def test_reallocating_a_model_forgets_its_graphs() -> None:
    from nodes.diffusion.acceleration import forget_graphs

    module = _Toy()
    store = store_for(module)
    AcceleratedDenoiser(_ToyDenoiser(module), "graphs", capture=FakeGraphs())(
        torch.ones(1), torch.tensor(1.0), 0
    )
    assert store.replays
    forget_graphs(module)
    assert store_for(module) is not store and not store_for(module).replays


def test_gpus_are_chosen_by_index(monkeypatch) -> None:
    from nodes.diffusion.device import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="cuda:1 was asked for, but torch sees no CUDA GPU"):
        resolve_device("cuda:1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("cuda") == torch.device("cuda")
    with pytest.raises(ValueError, match=r"sees 2 CUDA GPU\(s\): cuda:0 to cuda:1"):
        resolve_device("cuda:2")
