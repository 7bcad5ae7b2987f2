from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nodes.api import Input, Node, Output, Param, Upgrader, declared_in
from nodes.context import NodeContext
from nodes.library import library_modules, load_builtin_nodes
from nodes.ports import PortType, can_connect
from nodes.registry import REGISTRY, RegistrationError, Registry
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


def imported_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``statement``."""
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    return set(result.stdout.split())


def test_engine_never_imports_qt() -> None:
    modules = imported_after(
        "import nodes.cli, nodes.runner, nodes.library as l; l.load_builtin_nodes();"
        "import nodes.workflow"
    )
    assert not [m for m in modules if m.startswith(("PySide6", "shiboken6", "PyQt"))]


def test_the_node_context_stays_below_the_graph() -> None:
    # a node's context must be importable without the graph document, validation or
    # networkx: they sit above it (the graph knows node types, whose run takes a context)
    modules = imported_after("import nodes.context")
    assert not modules & {"networkx", "nodes.graph", "nodes.validation", "nodes.registry"}


def test_loading_the_library_imports_no_model_library() -> None:
    modules = imported_after("import nodes.library as l; l.load_builtin_nodes()")
    assert not {m.partition(".")[0] for m in modules} & {"torch", "diffusers", "transformers"}


def test_declaring_a_node_class_catalogues_it_in_its_module() -> None:
    class Thing(Node):
        """Declared inside a test."""

        type_id = "test.declared_here"
        title = "Thing"
        category = "test"
        outputs = (Output("value", PortType.INT),)

        def run(self, ctx: NodeContext) -> tuple[int]:
            return (1,)

    assert declared_in(__name__)[-1] is Thing
    registry = Registry()
    registry.register(Thing)
    assert registry.get("test.declared_here") is Thing
    # a test's node types never reach the application's registry or the built-in set
    assert "test.declared_here" not in load_builtin_nodes(REGISTRY)
    assert "test.declared_here" not in load_builtin_nodes(Registry())


def test_abstract_bases_are_not_catalogued() -> None:
    class Base(Node, abstract=True):
        """Shared by the loaders of a test (never registered itself)."""

        category = "test"

    class Concrete(Base):
        """A node type built on the base."""

        type_id = "test.concrete"
        title = "Concrete"

        def run(self, ctx: NodeContext) -> tuple[()]:
            return ()

    declared = declared_in(__name__)
    assert Concrete in declared and Base not in declared
    assert Registry().register(Concrete).category == "test"


def test_register_declared_takes_a_whole_module_and_refuses_duplicates() -> None:
    registry = Registry().register_declared("nodes.library.primitives")
    assert {cls.type_id for cls in registry} == {
        "primitive.int",
        "primitive.float",
        "primitive.string",
        "primitive.bool",
        "primitive.seed",
    }
    with pytest.raises(RegistrationError, match="already registered"):
        registry.register_declared("nodes.library.primitives")


def test_every_library_node_class_is_registered() -> None:
    registry = load_builtin_nodes(Registry())
    declared = [cls for module in library_modules() for cls in declared_in(module)]
    assert len(declared) >= 20
    assert all(registry.get(cls.type_id) is cls for cls in declared)
    assert {m.rpartition(".")[2] for m in library_modules()} >= {"loaders", "sampling", "vae"}
