"""Fuzzing the workflow loader: whatever the bytes, the only failure is a WorkflowError.

Documents start valid (version 1 and the version-0 draft), then get values replaced by
random JSON at random paths, keys deleted or added, their text truncated or sprinkled with
random bytes; plus plain garbage, wrong top-level types and deeply nested arrays. A
document that loads must also validate without raising and save → load → save to the same
bytes. The same documents go through ``daguerre validate``, which must exit 0 or 1.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

# Hypothesis keeps caches under ./.hypothesis (the repository) unless told otherwise; this
# must happen before its first example. The database is off too (see FUZZ).
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "daguerre-hypothesis")
)

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodes import cli
from nodes.graph import Graph
from nodes.validation import validate
from nodes.workflow import WorkflowError, dumps, loads, to_dict
from tests.stubs import fuzz_registry

REGISTRY = fuzz_registry()


def _valid_v1() -> dict[str, Any]:
    graph = Graph(REGISTRY)
    graph.add_node("fz.num", id="n", params={"value": 3}, position=(1, 2))
    graph.add_node("fz.num", id="seed", params={"value": 9})
    graph.add_node("fz.mix", id="m", params={"mode": "mul"}, title="Mixer")
    graph.add_node("fz.sink", id="out")
    graph.add_node("primitive.string", id="txt", params={"value": "hello"})
    graph.add_node("utility.display", id="show")
    graph.add_node("utility.note", id="note", params={"text": "a note"})
    graph.connect("n", "value", "m", "a")
    graph.connect("seed", "value", "m", "steps")
    graph.connect("m", "y", "out", "value")
    graph.connect("txt", "value", "show", "value")
    graph.set_bypass("show", False)
    graph.set_node_attr("m", "size", (100, 50))
    graph.set_node_attr("m", "color", "#123456")
    graph.add_group("G", (0, 0, 50, 50), color="#abcdef", id="g")
    graph.view.update({"zoom": 1.0, "center": [0, 0]})
    graph.metadata.update({"author": "fuzz", "list": [1, 2, {"x": None}]})
    doc = to_dict(graph)
    doc["nodes"]["m"]["extra_field"] = {"kept": True}
    doc["links"][0]["style"] = "dashed"
    doc["future"] = [1, "two"]
    return doc


def _valid_v0() -> dict[str, Any]:
    return {
        "format": "daguerre.workflow",
        "version": 0,
        "nodes": [
            {"id": 1, "type": "fz.num", "values": {"value": 2}, "pos": [0, 0]},
            {"id": "m", "type": "fz.mix", "type_version": "1.0.0", "values": {"factor": 0.1}},
            {"id": "s", "type": "fz.sink"},
        ],
        "edges": [[1, "value", "m", "a"], ["m", "y", "s", "value"]],
        "metadata": {},
    }


BASES = (_valid_v1(), _valid_v0())

# --------------------------------------------------------------------------- strategies

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.integers(min_value=10**300, max_value=10**320).map(lambda n: n * (-1) ** (n % 2))
    | st.floats()  # NaN and infinities become NaN / Infinity literals, which are refused
    | st.text(max_size=12)
    | st.text(st.characters(categories=["Cs", "Cc", "Lu"]), max_size=3)  # lone surrogates
    | st.sampled_from(["", "a", "fz.num", "fz.mix", "1.0.0", "9.9.9", "m", "n", "value", "y"])
)
keys = st.text(max_size=8) | st.sampled_from(
    ["type", "params", "from", "to", "id", "a\n", "with space", "ü", "", "x" * 65]
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=12,
)


def _paths(doc: Any) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``doc`` (the root is the empty path)."""
    found: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), doc)]
    while stack:
        path, value = stack.pop()
        found.append(path)
        if isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend(((*path, i), v) for i, v in enumerate(value))
    return found


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        doc = doc[key]
    return doc


def _deep_array(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def mutated_documents(draw: st.DrawFn, *, gentle: bool = False) -> Any:
    """A valid document with 1–4 random changes.

    ``gentle`` changes only free-form places (params, metadata, view, unknown fields), so
    that most documents still load and the checks on loaded graphs get exercised.
    """
    doc = json.loads(json.dumps(draw(st.sampled_from(BASES))))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)[1:]  # the root is the first path: replaced on its own, rarely
        if gentle:
            paths = [p for p in paths if _free_form(p)]
        elif not paths or draw(st.integers(0, 30)) == 17:  # not 0: hypothesis favours it
            doc = draw(json_values)
            continue
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        actions = ["replace", "replace", "delete", "add", "deep", "type", "rekey"]
        action = draw(st.sampled_from(actions[:4] if gentle else actions))
        parent = _parent(doc, path)
        key = path[-1]
        if action == "replace":
            parent[key] = draw(json_values)
        elif action == "type":  # the right shape with the wrong type, a classic
            parent[key] = draw(st.sampled_from([None, True, 0, -1, 1.5, "", "x", [], {}, [[]]]))
        elif action == "deep":
            parent[key] = _deep_array(draw(st.integers(50, 1500)))
        elif action == "delete":
            del parent[key]
        elif action == "rekey" and isinstance(parent, dict):  # the same value, a new key
            parent[draw(keys)] = parent.pop(key)
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=6))] = draw(json_values)
        else:
            parent.insert(draw(st.integers(0, len(parent))), draw(json_values))
    return doc


def _free_form(path: tuple[Any, ...]) -> bool:
    if path[0] in ("metadata", "view", "future"):
        return True
    return path[0] == "nodes" and len(path) >= 3 and path[2] in ("params", "extra_field")


@st.composite
def damaged_bytes(draw: st.DrawFn) -> bytes:
    """A mutated document's text, then possibly truncated or sprinkled with bytes."""
    doc = draw(mutated_documents())
    try:
        data = json.dumps(doc, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    except RecursionError:
        data = b"[" * 5000
    damage = draw(st.sampled_from(["none"] * 4 + ["truncate", "insert", "flip", "huge"]))
    if damage == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif damage == "insert":
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.integers(0, len(data)))
            data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
    elif damage == "huge":  # a number that overflows: 3 → 3e400
        digits = [i for i, byte in enumerate(data) if 0x30 <= byte <= 0x39]
        if digits:
            at = draw(st.sampled_from(digits)) + 1
            data = data[:at] + b"e400" + data[at:]
    elif damage == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
    return data


garbage = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    json_values.map(lambda v: json.dumps(v).encode()),  # wrong top-level types
    st.integers(1, 200_000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 200_000).map(lambda n: b"[" * n),
    st.integers(1, 5_000).map(
        lambda n: (
            b'{"format":"daguerre.workflow","version":1,"metadata":{"a":'
            + b'{"b":' * n
            + b"0"
            + b"}" * n
            + b"}}"
        )
    ),
)

FUZZ = settings(
    deadline=None,
    derandomize=True,  # the same examples every run: a red suite is never luck
    database=None,  # nothing written to the repository
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
)

# --------------------------------------------------------------------------- the loader


def _check_loads(data: bytes | str) -> None:
    try:
        graph = loads(data, REGISTRY)
    except WorkflowError as exc:
        assert str(exc).startswith("$")
        assert "\n" not in str(exc)
        str(exc).encode("utf-8")  # printable as it is
        return
    validate(graph)  # a loaded graph never makes validation raise
    text = dumps(graph)
    text.encode("utf-8")  # what save_file writes: anything that loads can be saved
    assert dumps(graph.copy()) == text  # the snapshot a queued run takes
    again = dumps(loads(text, REGISTRY))
    assert again == text  # save → load → save is stable for anything that loads


@settings(FUZZ, max_examples=1800)
@given(data=damaged_bytes())
def test_mutated_documents_raise_only_workflow_errors(data: bytes) -> None:
    _check_loads(data)


@settings(FUZZ, max_examples=900)
@given(doc=mutated_documents(gentle=True))
def test_gently_mutated_documents(doc: Any) -> None:
    try:
        text = json.dumps(doc)
    except RecursionError:
        return
    _check_loads(text)


@settings(FUZZ, max_examples=700)
@given(data=garbage)
def test_garbage_raises_only_workflow_errors(data: bytes) -> None:
    _check_loads(data)


@pytest.mark.parametrize("base", [0, 1], ids=["v0", "v1"])
def test_the_fuzz_bases_are_valid(base: int) -> None:
    graph = loads(json.dumps(BASES[base]), REGISTRY)
    assert validate(graph) == []


# --------------------------------------------------------------------------- the CLI


@settings(FUZZ, max_examples=250)
@given(data=st.one_of(damaged_bytes(), garbage))
def test_cli_validate_exits_0_or_1(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.json"
    path.write_bytes(data)
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8")  # strict, like a UTF-8 terminal
    err = io.TextIOWrapper(err_bytes, encoding="utf-8")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["validate", str(path)], registry=REGISTRY)
        out.flush()
        err.flush()
    lines = out_bytes.getvalue().decode("utf-8").splitlines()
    assert code in (0, 1)
    if code == 0:
        assert lines == []
        assert err_bytes.getvalue().decode().startswith("ok: ")
    else:
        assert lines
        for line in lines:  # one "where: message" line per problem
            where, sep, message = line.partition(": ")
            assert sep and message, line
            # a node.field has no spaces; a JSON path may quote keys that have some
            assert where.startswith("$") or " " not in where, line


@settings(FUZZ, max_examples=80)
@given(data=st.one_of(damaged_bytes(), mutated_documents(gentle=True).map(json.dumps)))
def test_cli_run_exits_0_or_1_with_a_json_summary(tmp_path: Path, data: bytes | str) -> None:
    path = tmp_path / "fuzz.json"
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(
            ["run", "--json", "--quiet", "--out", str(tmp_path / "out"), str(path)],
            registry=REGISTRY,
        )
    summary = json.loads(out.getvalue())
    assert code in (0, 1)
    assert set(summary) == {"status", "outputs", "nodes", "errors", "advice"}
    assert summary["status"] == ("done" if code == 0 else "failed")
    assert (summary["errors"] == []) == (code == 0)
