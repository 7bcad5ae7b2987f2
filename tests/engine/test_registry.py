from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nodes.api import Input, Node, Output, Param, Upgrader
from nodes.context import NodeContext
from nodes.ports import PortType, can_connect
from nodes.registry import RegistrationError, Registry
from tests.stubs import Const


def _declare(**attrs) -> type[Node]:
    def run(self, ctx: NodeContext, *, value: int = 0):
        return (value,)

    body = {
        "__doc__": "A node.",
        "type_id": "test.thing",
        "title": "Thing",
        "category": "test",
        "params": (Param("value", PortType.INT, default=0),),
        "outputs": (Output("out", PortType.INT),),
        "run": run,
    }
    body.update(attrs)
    return type("Thing", (Node,), body)


def test_registers_and_lists_schema() -> None:
    registry = Registry()
    registry.register(Const)
    assert registry.get("test.const") is Const
    (schema,) = registry.schema()
    assert schema["type"] == "test.const"
    assert schema["description"] == "An integer constant."
    assert schema["params"][0] == {
        "name": "value",
        "type": "INT",
        "default": 1,
        "label": "value",
        "tooltip": "",
        "min": -1000,
        "max": 1000,
        "multiline": False,
        "seed": False,
        "linkable": True,
    }
    json.dumps(schema)


def test_refuses_duplicates() -> None:
    registry = Registry()
    registry.register(Const)
    with pytest.raises(RegistrationError, match="already registered"):
        registry.register(_declare(type_id="test.const"))


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        ({"__doc__": None}, "docstring"),
        ({"type_id": "Bad Id"}, "dotted lowercase"),
        ({"version": "1.0"}, "semantic version"),
        ({"params": (Param("value", PortType.INT, default="x"),)}, "default expected an integer"),
        ({"params": (Param("value", PortType.INT, default=5, min=0, max=3),)}, "above the maximum"),
        ({"params": (Param("value", PortType.LATENT, default=None),)}, "INT, FLOAT, STRING"),
        ({"params": (Param("value", PortType.INT, default=0, choices=("a",)),)}, "choices need"),
        ({"inputs": (Input("value", PortType.INT),)}, "duplicate input/param"),
        ({"params": (Param("other", PortType.INT, default=0),)}, "does not accept declared"),
        ({"outputs": (Output("a", PortType.INT), Output("a", PortType.INT))}, "duplicate output"),
        ({"upgraders": {"2.0.0": Upgrader("3.0.0", dict)}}, "past the current version"),
        ({"params": [Param("value", PortType.INT, default=0)]}, "must be a tuple"),
    ],
)
def test_declaration_errors_fail_loudly(attrs: dict, message: str) -> None:
    with pytest.raises(RegistrationError, match=message):
        Registry().register(_declare(**attrs))


def test_run_requiring_undeclared_argument_is_refused() -> None:
    def run(self, ctx, *, value, surprise):
        return (value,)

    with pytest.raises(RegistrationError, match="undeclared argument"):
        Registry().register(_declare(run=run))


def test_missing_run_is_refused() -> None:
    cls = _declare()
    del cls.run
    with pytest.raises(RegistrationError, match="not implemented"):
        Registry().register(cls)


def test_port_compatibility() -> None:
    assert can_connect(PortType.LATENT, PortType.LATENT)
    assert can_connect(PortType.INT, PortType.FLOAT)
    assert not can_connect(PortType.FLOAT, PortType.INT)
    assert not can_connect(PortType.IMAGE, PortType.LATENT)
    assert can_connect(PortType.IMAGE, PortType.ANY)
    assert all(t.color.startswith("#") for t in PortType)


def test_engine_never_imports_qt() -> None:
    code = (
        "import sys, nodes.cli, nodes.runner, nodes.library as l; l.load_builtin_nodes();"
        "import nodes.workflow;"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6', 'PyQt'))];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
