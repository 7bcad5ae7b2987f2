"""A guard against a reference-counting bug of PySide6 6.12 on Python 3.11.

PySide6 6.12.0's limited-API (abi3) build returns ``None`` from void methods — and ``True``
from ``SignalInstance.emit()`` — without taking a new reference. Python 3.12 made these
singletons immortal (PEP 683), so there it is harmless. On 3.11, each call drops one
reference: ``None`` starts with a few thousand, and one repaint of a big graph (several
``QPainter`` calls per port) runs it to zero, which aborts the process with
"none_dealloc: deallocating None".

:func:`keep_singletons_alive` gives ``None``, ``True`` and ``False`` a reference count so
large that no session can exhaust it — what 3.12 does by design. It does nothing on 3.12+
or on other interpreters, and can go once the bug is fixed or 3.11 is no longer supported.
"""

from __future__ import annotations

import ctypes
import sys

_RESERVE = 1 << 40


def keep_singletons_alive() -> None:
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    for singleton in (None, True, False):
        # ob_refcnt is the first field of every CPython object
        count = ctypes.c_ssize_t.from_address(id(singleton))
        if count.value < _RESERVE:
            count.value += _RESERVE
