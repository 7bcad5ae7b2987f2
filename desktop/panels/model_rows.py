"""How a Models panel row is drawn: the whole file name, and under it what the model is
(family · size · precision), so a narrow dock still shows a model's family without
scrolling; a model of another family than the graph's is drawn in the warning colour."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

SUBTITLE_ROLE = Qt.ItemDataRole.UserRole + 2
"""A model row's second line ("SDXL · 151 KB · fp16")."""
WRONG_ROLE = Qt.ItemDataRole.UserRole + 3
"""True on a row of another family than the graph's checkpoint."""
WRONG_COLOR = QColor("#d9822b")
PADDING = 4


class ModelRowDelegate(QStyledItemDelegate):
    """Two lines for a model row's name cell; other cells are drawn as usual."""

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        size = super().sizeHint(option, index)
        subtitle = index.data(SUBTITLE_ROLE)
        if not subtitle:
            return size
        metrics = option.fontMetrics
        width = max(size.width(), metrics.horizontalAdvance(str(subtitle)) + 3 * PADDING)
        return QSize(width, 2 * metrics.height() + 2 * PADDING)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        subtitle = index.data(SUBTITLE_ROLE)
        if not subtitle:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        name = opt.text
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = opt.palette.ColorRole
        text = opt.palette.color(role.HighlightedText if selected else role.Text)
        muted = text if selected else opt.palette.color(role.PlaceholderText)
        if index.data(WRONG_ROLE):
            muted = WRONG_COLOR
        metrics = opt.fontMetrics
        line = metrics.height()
        rect: QRect = opt.rect.adjusted(PADDING, PADDING, -PADDING, -PADDING)
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        painter.save()
        painter.setPen(text)
        first = QRect(rect.left(), rect.top(), rect.width(), line)
        painter.drawText(first, align, metrics.elidedText(name, opt.textElideMode, rect.width()))
        painter.setPen(muted)
        second = QRect(rect.left(), rect.top() + line, rect.width(), line)
        elided = metrics.elidedText(str(subtitle), Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(second, align, elided)
        painter.restore()


__all__ = ["SUBTITLE_ROLE", "WRONG_COLOR", "WRONG_ROLE", "ModelRowDelegate"]
