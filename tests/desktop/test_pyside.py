"""PySide6 6.12.0 drops a reference to True on every signal emit and to None on void calls;
on Python 3.11 that aborts the app after a few thousand. pyproject excludes that release:
this keeps an installed Qt honest."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QPainter, QPixmap


class _Emitter(QObject):
    fired = Signal(object)


def test_emits_and_paints_keep_singleton_references(qapp) -> None:
    emitter = _Emitter()
    emitter.fired.connect(lambda value: None)
    pixmap = QPixmap(8, 8)
    true_before, none_before = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(200):
        emitter.fired.emit(1)
        painter = QPainter(pixmap)
        painter.setPen(QColor("red"))
        painter.drawRect(0, 0, 4, 4)
        painter.end()
    assert sys.getrefcount(True) >= true_before - 20
    assert sys.getrefcount(None) >= none_before - 20
