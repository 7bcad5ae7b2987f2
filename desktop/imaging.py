"""numpy images (what the engine sends) to Qt images, without copies where possible."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap


def to_qimage(array: np.ndarray) -> QImage:
    """An H×W×3 (or H×W×4) ``uint8`` array as a QImage that owns its pixels."""
    data = np.ascontiguousarray(array)
    if data.dtype != np.uint8 or data.ndim != 3 or data.shape[2] not in (3, 4):
        raise ValueError(f"expected an H×W×3 uint8 image, got {data.dtype} {data.shape}")
    height, width, channels = data.shape
    fmt = QImage.Format.Format_RGB888 if channels == 3 else QImage.Format.Format_RGBA8888
    image = QImage(data.data, width, height, channels * width, fmt)
    return image.copy()  # detach from the numpy buffer


def to_pixmap(array: np.ndarray) -> QPixmap:
    return QPixmap.fromImage(to_qimage(array))
