"""The fuzz corpus: thousands of hostile workflow files, and one rule for all of them.

A seeded corpus of mutated workflow documents — Daguerre files (the shipped templates, and
graphs imported from ComfyUI that carry its records), ComfyUI UI files and ComfyUI API
files — and of damaged PNGs goes through the entry points a file meets:

    open (``nodes.comfy.open_bytes``; some through ``open_any`` on a path) → validate →
    export to ComfyUI API JSON → import that again → validate; sometimes save → load.

The rule: the only exception that escapes is :class:`nodes.workflow.WorkflowError`, whose
message is one printable line of at most :data:`MESSAGE_CHARS`; what opens saves and loads
again, and what exports imports again; no case runs for more than :data:`CASE_SECONDS`;
and the memory a case allocates (``tracemalloc``'s peak, for the traced share of cases)
stays under :data:`PEAK_BYTES`.

Mutations: keys dropped, duplicated, renamed (unicode digits, empty, 65 characters...) and
values retyped; values swapped for other JSON types, huge, negative and non-finite numbers
(±1e308, 10**300, 1e400 in the text, NaN), unicode digits, long strings, deep nesting;
links that dangle (missing nodes and slots), loop onto their own node or close cycles;
text cut, flipped and sprinkled with bytes. PNGs: cut, bytes flipped, bad CRCs, chunks
of garbage or oversized text, compressed text that is not zlib, iTXt that is not UTF-8,
and valid PNGs carrying mutated workflow text in every chunk kind.

Every case is drawn from its own ``random.Random`` seeded by its index, so one case can be
rerun alone: ``DAGUERRE_FUZZ_CASE=doc:1234`` (or ``png:56``). ``DAGUERRE_FUZZ_SCALE``
multiplies the corpus (``DAGUERRE_FUZZ_SCALE=10`` for 100,000 documents and 10,000 PNGs);
the default is sized to run in well under a minute on two busy cores.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import random
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from nodes.comfy import export_api, load_document, open_any, open_bytes
from nodes.validation import validate
from nodes.workflow import WorkflowError, dumps, loads
from tests.engine.fuzz_corpus import (
    _BASE_PATHS,
    BASES,
    KINDS,
    REGISTRY,
    _big,
    _fresh,
    _mutate,
    _safely,
)
from tests.engine.fuzz_pngs import _encode, _png_case

SCALE = float(os.environ.get("DAGUERRE_FUZZ_SCALE") or 1)
DOCUMENTS = max(1, round(10_000 * SCALE))
"""Mutated workflow documents (a third each Daguerre, ComfyUI UI and ComfyUI API)."""
PNGS = max(1, round(1_000 * SCALE))
"""Damaged PNGs."""
SEED = 0x0DA6_0E22E
CASE_SECONDS = 2.0
"""The longest one case may take (open, validate, export, import again)."""
PEAK_BYTES = 96 * 1024 * 1024
"""The most memory one traced case may allocate at its peak (tracemalloc): the largest
case is a few MiB of text, so this is ample, and far below what a runaway would take."""
TRACED = 24
"""One case in TRACED runs under tracemalloc, which slows Python down about three times:
those are held to PEAK_BYTES, the others to CASE_SECONDS."""
ONLY = os.environ.get("DAGUERRE_FUZZ_CASE", "")


# --------------------------------------------------------------------------- the cases
@dataclass
class Case:
    label: str
    data: bytes
    name: str
    log: list[str] = field(default_factory=list)
    via_path: bool = False


def _document_case(index: int) -> Case:
    rng = random.Random(SEED * 1_000_003 + index)
    kind = KINDS[index % len(KINDS)]
    log: list[str] = []
    if rng.random() < 0.01:
        doc = _big(rng, kind, log)
        base_name = f"big {kind}"
    else:
        base_name, base = rng.choice(BASES[kind])
        doc = _fresh(base)
        for step in range(rng.choice([1, 1, 1, 2, 2, 3, 5])):
            known = _BASE_PATHS[id(base)] if step == 0 else None
            doc = _safely(lambda d, k=known: _mutate(rng, d, kind, log, k), doc, log)
    data = _encode(rng, doc, log)
    return Case(f"doc:{index} ({base_name})", data, "case.json", log, via_path=rng.random() < 0.05)


def _png_case_at(index: int) -> Case:
    rng = random.Random(SEED * 7_000_001 + index)
    log: list[str] = []
    data = _png_case(rng, log)
    return Case(f"png:{index}", data, "case.png", log, via_path=rng.random() < 0.05)


@dataclass
class Outcome:
    label: str
    seconds: float
    peak: int | None
    error: str | None = None
    """A crash: the exception and where it was raised."""
    refused: str | None = None
    """The WorkflowError, if the file was refused."""


def _where(exc: BaseException) -> str:
    """The innermost frames of the traceback: ``file.py:function:line < caller...``."""
    tb = exc.__traceback__
    frames = []
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append(f"{Path(code.co_filename).name}:{code.co_name}:{tb.tb_lineno}")
        tb = tb.tb_next
    return " < ".join(reversed(frames[-4:]))


MESSAGE_CHARS = 4000
"""The longest a WorkflowError's message may be: one line a terminal can show, whatever
the file holds (a 100,000-character id is quoted cut, not whole)."""


def _check_message(exc: WorkflowError) -> None:
    text = str(exc)
    if "\n" in text or "\r" in text:
        raise AssertionError(f"more than one line: {text[:200]!r}")
    text.encode("utf-8")  # printable as it is (no lone surrogates)
    if len(text) > MESSAGE_CHARS:
        raise AssertionError(f"{len(text)} characters: {text[:120]!r}...")


def _exercise(case: Case, tmp: Path) -> str | None:
    """Open → validate → export → import → validate; the WorkflowError text, or None."""
    if case.via_path:
        path = tmp / case.name
        path.write_bytes(case.data)
        graph = open_any(path, REGISTRY)
    else:
        graph = open_bytes(case.data, case.name, REGISTRY).graph
    validate(graph)
    if len(case.data) % 8 == 0:  # a share of them saved and loaded as Daguerre files
        try:
            loads(dumps(graph), REGISTRY)
        except WorkflowError as exc:
            raise Reopen(f"saved, it does not load again: {exc}") from None
    try:
        exported = export_api(graph)
    except WorkflowError as exc:
        _check_message(exc)
        return None
    try:
        again = open_bytes(json.dumps(exported).encode(), "export.json", REGISTRY).graph
    except WorkflowError as exc:
        raise Reopen(f"exported, it does not import again: {exc}") from None
    validate(again)
    return None


class Reopen(AssertionError):
    """What opened, saved or exported, does not open again."""


def _run(case: Case, tmp: Path, traced: bool) -> Outcome:
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    error = refused = None
    try:
        _exercise(case, tmp)
    except WorkflowError as exc:
        refused = str(exc)
        try:
            _check_message(exc)
        except AssertionError as bad:
            error = f"WorkflowError message: {bad} at {_where(exc)}"
    except Exception as exc:  # what the corpus looks for
        error = f"{type(exc).__name__}: {str(exc)[:200]} at {_where(exc)}"
    seconds = time.perf_counter() - start
    peak = None
    if traced:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return Outcome(case.label, seconds, peak, error, refused)


KNOWN: list[tuple[str, str]] = []
"""(where, what) of known faults the corpus counts apart instead of failing on them: a
``_where`` frame (``"format.py:from_dict:"``) and a part of the error. Empty: the faults
found so far (messages quoting 100,000-character ids and versions whole) are fixed in
``WorkflowError`` itself, which cuts its message and path to a readable line; the tests at
the end of this file keep them fixed."""


def _known(error: str) -> bool:
    return any(where in error and what in error for where, what in KNOWN)


def _cases(make: Callable[[int], Case], count: int, prefix: str) -> Iterator[Case]:
    if ONLY:
        kind, _, index = ONLY.partition(":")
        if kind == prefix:
            yield make(int(index))
        return
    for index in range(count):
        yield make(index)


def _warm_up() -> None:
    """Open, validate and export every base once: the first validation of some schedules
    imports diffusers (seconds), which is no case's time."""
    for bases in BASES.values():
        for _, doc in bases:
            graph, _ = load_document(copy.deepcopy(doc), REGISTRY)
            validate(graph)
            with contextlib.suppress(WorkflowError):
                export_api(graph)


def _corpus(make: Callable[[int], Case], count: int, prefix: str, tmp: Path) -> list[Outcome]:
    _warm_up()
    outcomes = []
    for case in _cases(make, count, prefix):
        index = int(case.label.split(":")[1].split()[0])
        outcome = _run(case, tmp, traced=index % TRACED == 0)
        outcomes.append(outcome)
        if outcome.error is not None:
            (tmp / f"{prefix}-{index}{Path(case.name).suffix}").write_bytes(case.data)
            outcome.error += f" [{'; '.join(case.log)[:300]}]"
    return outcomes


def _report(outcomes: list[Outcome], tmp: Path, request: pytest.FixtureRequest) -> None:
    if not outcomes and ONLY:
        pytest.skip(f"DAGUERRE_FUZZ_CASE={ONLY} is not a case of this test")
    crashes = [o for o in outcomes if o.error is not None and not _known(o.error)]
    known = [o for o in outcomes if o.error is not None and _known(o.error)]
    slow = [o for o in outcomes if o.peak is None and o.seconds > CASE_SECONDS]
    peaks = [o for o in outcomes if o.peak is not None]
    heavy = [o for o in peaks if o.peak is not None and o.peak > PEAK_BYTES]
    refused = sum(o.refused is not None for o in outcomes)
    slowest = max((o for o in outcomes if o.peak is None), key=lambda o: o.seconds, default=None)
    biggest = max(peaks, key=lambda o: o.peak or 0, default=None)
    total = sum(o.seconds for o in outcomes)
    summary = (
        f"{len(outcomes)} cases in {total:.1f} s ({refused} refused with a WorkflowError, "
        f"{len(known)} known faults outside nodes/comfy); slowest untraced "
        f"{slowest.label if slowest else '-'} {slowest.seconds if slowest else 0:.2f} s; "
        "largest traced peak "
        f"{(biggest.peak or 0) / 2**20 if biggest else 0:.1f} MiB over {len(peaks)} traced cases"
    )
    request.node.user_properties.append(("corpus", summary))
    print(summary)
    problems = [f"{o.label}: {o.error}" for o in crashes[:15]]
    problems += [f"{o.label}: {o.seconds:.2f} s (over {CASE_SECONDS} s)" for o in slow[:5]]
    problems += [f"{o.label}: peak {o.peak} bytes" for o in heavy[:5]]
    if problems:
        more = len(crashes) - 15 if len(crashes) > 15 else 0
        pytest.fail(
            f"{summary}\nrerun one with DAGUERRE_FUZZ_CASE=<label>; the failing files are in "
            f"{tmp}\n" + "\n".join(problems) + (f"\n... and {more} more crashes" if more else "")
        )


def test_mutated_documents_raise_only_workflow_errors(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _report(_corpus(_document_case, DOCUMENTS, "doc", tmp_path), tmp_path, request)


def test_damaged_pngs_raise_only_workflow_errors(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _report(_corpus(_png_case_at, PNGS, "png", tmp_path), tmp_path, request)


def test_the_corpus_bases_open_and_validate() -> None:
    for kind, bases in BASES.items():
        for name, doc in bases:
            graph, found = load_document(copy.deepcopy(doc), REGISTRY)
            assert found.startswith(
                {"daguerre": "daguerre", "ui": "comfyui-ui", "api": "comfyui-api"}[kind]
            ), name
            validate(graph)
            assert len(graph) >= 1, name


def test_the_corpus_is_deterministic() -> None:
    assert _document_case(123).data == _document_case(123).data
    assert _png_case_at(45).data == _png_case_at(45).data


# --------------------------------------------------------------------------- long quoted values
# Found by the corpus: the Daguerre loader quoted these whole in its messages.
def _long_message(doc: dict[str, Any]) -> int:
    with pytest.raises(WorkflowError) as info:
        loads(json.dumps(doc), REGISTRY)
    return len(str(info.value))


def test_a_long_node_id_is_quoted_cut() -> None:
    doc = {"format": "daguerre.workflow", "version": 1, "nodes": {"x" * 100_000: {"type": "t"}}}
    assert _long_message(doc) <= MESSAGE_CHARS


def test_a_link_to_a_long_missing_id_is_quoted_cut() -> None:
    doc = {
        "format": "daguerre.workflow",
        "version": 1,
        "nodes": {"a": {"type": "utility.note"}},
        "links": [{"from": ["\r\n" * 50_000, "y"], "to": ["a", "z"]}],
    }
    assert _long_message(doc) <= MESSAGE_CHARS


def test_a_long_type_version_is_quoted_cut() -> None:
    doc = {
        "format": "daguerre.workflow",
        "version": 1,
        "nodes": {"a": {"type": "utility.note", "type_version": "v" * 100_000}},
    }
    assert _long_message(doc) <= MESSAGE_CHARS
