"""The warm-up and a run never import the model libraries at the same time: diffusers'
lazy imports race between two threads (``module 'diffusers' has no attribute
'UNet2DConditionModel'``), which used to kill the warm-up before it froze the collector."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nodes import import_lock
from nodes.events import RunStatus
from nodes.graph import Graph
from nodes.runner import Runner
from nodes.workflow import to_dict
from tests.stubs import Slow

ROOT = Path(__file__).resolve().parents[2]

_RACE = """
import gc, json, logging, sys, threading, time
from nodes.api import Node, Output
from nodes.graph import Graph
from nodes.ports import PortType
from nodes.registry import Registry
from nodes.runner import Runner
from nodes import runtime

logging.basicConfig(level=logging.ERROR)

class LoadsDiffusers(Node):
    \"\"\"Imports the diffusers classes model loading uses, as a checkpoint loader does.\"\"\"

    type_id = "race.loads_diffusers"
    title = "Loads diffusers"
    category = "race"
    version = "1.0.0"
    outputs = (Output("value", PortType.INT),)
    is_output = True

    def run(self, ctx):
        from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
        import transformers
        transformers.CLIPTextModel
        return (1,)

graph = Graph(Registry().register_declared(__name__))
graph.add_node("race.loads_diffusers", id="load")
runner = Runner(registry=graph.registry)
warm = threading.Thread(target=runtime.warm_up)
errors = []
logging.getLogger("daguerre.runtime").addHandler(
    type("H", (logging.Handler,), {"emit": lambda self, r: errors.append(r.getMessage())})()
)
warm.start()
time.sleep(float(sys.argv[1]))
outcome = runner.wait(runner.submit(graph), timeout=300)
warm.join(300)
runner.shutdown()
print(json.dumps({
    "status": str(outcome.status.value), "error": outcome.error,
    "failed": [str(p) for p in outcome.problems],
    "warm": runtime.WARM.is_set(), "frozen": gc.get_freeze_count(), "logged": errors,
}))
"""


@pytest.mark.parametrize("delay", [0.0, 0.4])
def test_a_run_that_starts_during_the_warm_up_does_not_break_either(
    tmp_path: Path, delay: float
) -> None:
    """In a fresh interpreter (nothing imported yet) a run imports diffusers while the
    warm-up does: the run succeeds, and the warm-up finishes and freezes the collector."""
    script = tmp_path / "race.py"
    script.write_text(_RACE)
    done = subprocess.run(
        [sys.executable, str(script), str(delay)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["logged"] == []
    assert (result["status"], result["error"]) == ("done", None), result
    assert result["warm"] and result["frozen"] > 0


_TOKENIZER_RACE = """
import json, logging, threading
from nodes import runtime
from nodes.tokens import load_tokenizer
errors = []
logging.getLogger("daguerre.runtime").addHandler(
    type("H", (logging.Handler,), {"emit": lambda self, r: errors.append(r.getMessage())})()
)
def load():
    try:
        load_tokenizer()
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=runtime.warm_up) for _ in range(2)]
threads.append(threading.Thread(target=load))
for thread in threads:
    thread.start()
load()
for thread in threads:
    thread.join(300)
print(json.dumps({"errors": errors, "warm": runtime.WARM.is_set()}))
"""


def test_the_tokenizer_loads_while_warm_ups_import(tmp_path: Path) -> None:
    """Two warm-ups (two windows) and the prompt editors' tokenizer at once, in a fresh
    interpreter: transformers' lazy import raced (``cannot import name 'CLIPTokenizer'``)
    until the tokenizer took the model-library lock too."""
    script = tmp_path / "tokenizer_race.py"
    script.write_text(_TOKENIZER_RACE)
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {"errors": [], "warm": True}


def _slow_graph(graph: Graph) -> dict:
    graph.add_node("test.slow", id="slow", params={"steps": 2, "delay": 0.0})
    graph.add_node("test.sink", id="s")
    graph.connect("slow", "x", "s", "value")
    return to_dict(graph)


def test_a_run_waits_while_another_thread_imports_the_libraries(
    graph: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_lock, "IMPORTED", threading.Event())  # as before any warm-up
    runner = Runner(registry=graph.registry)
    Slow.started.clear()
    importing = threading.Event()
    release = threading.Event()

    def warm_up_importing() -> None:  # holds the lock the way import_model_libraries does
        with import_lock.IMPORTS:
            importing.set()
            release.wait(30)

    holder = threading.Thread(target=warm_up_importing)
    holder.start()
    assert importing.wait(10)
    run_id = runner.submit(_slow_graph(graph))
    time.sleep(0.3)
    assert not Slow.started.is_set()  # it cannot start while the import holds the lock
    release.set()
    assert runner.wait(run_id, timeout=10).status is RunStatus.DONE
    holder.join(10)
    runner.shutdown()


def test_once_imported_runs_take_no_lock(graph: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    imported = threading.Event()
    imported.set()
    monkeypatch.setattr(import_lock, "IMPORTED", imported)
    runner = Runner(registry=graph.registry)
    with import_lock.IMPORTS:  # held by another thread's import would not matter any more
        ran = threading.Event()

        def blocked() -> None:
            run_id = runner.submit(_slow_graph(graph))
            if runner.wait(run_id, timeout=10).status is RunStatus.DONE:
                ran.set()

        thread = threading.Thread(target=blocked)
        thread.start()
        thread.join(15)
    assert ran.is_set()
    runner.shutdown()
