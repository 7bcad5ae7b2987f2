"""``--sweep`` values that contain commas: a JSON list or ``\\,`` escapes, so prompts can be
swept; the plain comma-separated syntax keeps working."""

from __future__ import annotations

from pathlib import Path

import pytest

from nodes.cli.run import sweep_values
from nodes.graph import Graph
from nodes.library import load_builtin_nodes
from nodes.registry import Registry
from tests.engine.cli_helpers import run_json, sum_graph, write
from tests.stubs import cli_registry

pytestmark = pytest.mark.usefixtures("_home")


@pytest.fixture
def registry() -> Registry:
    return cli_registry()


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("1,2,3", ["1", "2", "3"]),
        ("a", ["a"]),
        ("", [""]),
        (r"a\, b,c", ["a, b", "c"]),
        (r"C:\models\x,y\z", [r"C:\models\x", r"y\z"]),  # other backslashes stay
        ("trailing\\", ["trailing\\"]),
        ('["a, b", "c"]', ["a, b", "c"]),
        (' ["x"]', ["x"]),
        ("[1, 2.5, true]", ["1", "2.5", "true"]),
        ('["with \\"quotes\\", and a comma"]', ['with "quotes", and a comma']),
        ("[a, b]", ["[a", " b]"]),  # not JSON: the comma syntax, as before
    ],
)
def test_sweep_values(text: str, values: list[str]) -> None:
    assert sweep_values(text) == values


@pytest.mark.parametrize(
    ("text", "message"),
    [("[]", "empty"), ('["a", null]', "null in the JSON list"), ("[[1]]", r"\[1\] in the JSON")],
)
def test_bad_json_lists_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sweep_values(text)


def _text_graph(registry: Registry) -> Graph:
    graph = Graph(load_builtin_nodes(registry))
    graph.add_node("primitive.string", id="text", params={"value": "hello"})
    graph.add_node("utility.save_text", id="save", params={"prefix": "note"})
    graph.connect("text", "value", "save", "text")
    return graph


@pytest.mark.parametrize(
    "sweep", ['text.value=["a red fox, at dawn", "b"]', r"text.value=a red fox\, at dawn,b"]
)
def test_prompts_with_commas_are_swept_one_run_each(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str], sweep: str
) -> None:
    wf = write(_text_graph(registry), tmp_path)
    code, payload = run_json(capsys, registry, tmp_path, wf, "--sweep", sweep)
    assert code == 0
    written = [Path(r["outputs"][0]).read_text() for r in payload["runs"]]
    assert written == ["a red fox, at dawn", "b"]


def test_json_lists_are_typed_and_checked_like_other_values(
    tmp_path: Path, registry: Registry, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = write(sum_graph(registry), tmp_path)
    code, payload = run_json(capsys, registry, tmp_path, wf, "--sweep", "a.value=[10, 20]")
    assert code == 0
    assert [Path(r["outputs"][0]).name for r in payload["runs"]] == ["rec_13.txt", "rec_23.txt"]
    code, payload = run_json(capsys, registry, tmp_path, wf, "--sweep", 'a.value=[1, "x"]')
    assert code == 1
    messages = [e["message"] for e in payload["runs"][0]["errors"]]
    assert any("'x' is not a valid INT" in m for m in messages), messages
    code, payload = run_json(capsys, registry, tmp_path, wf, "--sweep", "a.value=[]")
    assert code == 1
    messages = [e["message"] for e in payload["runs"][0]["errors"]]
    assert any("empty: nothing to sweep" in m for m in messages), messages
