"""The settings dialog: models folders, output folder, device, precision, previews, the
cluster runs go to, theme.

It edits the :class:`~nodes.settings.Settings` object it is given *in place*, and only
on OK: so everything holding that object (the image panel's output folder, the engine
environment built from it) sees the new values, and Cancel changes nothing. OK also saves
the settings file and applies the theme.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.theme import THEMES, apply_theme
from nodes.cluster_address import valid_cluster
from nodes.paths import default_output_dir, home_dir
from nodes.settings import ACCELERATIONS, DEVICES, PRECISIONS, Settings, cuda_devices

DEVICE_NAMES = {
    "auto": "Automatic (best available)",
    "cpu": "CPU",
    "cuda": "CUDA (NVIDIA GPU)",
    "mps": "MPS (Apple GPU)",
}
ACCELERATION_NAMES = {
    "auto": "Automatic (CUDA graphs on NVIDIA GPUs)",
    "off": "Off (plain PyTorch)",
    "graphs": "CUDA graphs",
    "compile": "torch.compile + CUDA graphs (compiles in the background)",
}
PRECISION_NAMES = {
    "auto": "Automatic",
    "fp32": "fp32 (full precision)",
    "fp16": "fp16 (half precision)",
    "bf16": "bf16 (bfloat16)",
}
THEME_NAMES = {"dark": "Dark", "light": "Light"}


def _combo(
    parent: QWidget, values: tuple[str, ...], names: dict[str, str], current: str
) -> QComboBox:
    box = QComboBox(parent)
    for value in values:
        box.addItem(names.get(value, value), value)
    index = box.findData(current)
    box.setCurrentIndex(max(index, 0))
    return box


class SettingsDialog(QDialog):
    """Edits a :class:`Settings`; OK saves it (``settings.save()``) and applies the theme."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.setMinimumWidth(540)
        self._settings = settings

        # -- models
        self.models_list = QListWidget(self)
        self.models_list.setObjectName("modelsDirs")
        self.models_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.models_list.addItems(settings.models_dirs)
        self.models_list.setMinimumHeight(90)
        self.models_list.setMaximumHeight(130)
        self.add_models_button = QPushButton("Add…", self)
        self.add_models_button.clicked.connect(self._add_models_dir)
        self.remove_models_button = QPushButton("Remove", self)
        self.remove_models_button.clicked.connect(self._remove_models_dirs)
        self.models_list.itemSelectionChanged.connect(self._update_buttons)
        buttons = QVBoxLayout()
        buttons.addWidget(self.add_models_button)
        buttons.addWidget(self.remove_models_button)
        buttons.addStretch(1)
        models_row = QHBoxLayout()
        models_row.addWidget(self.models_list, 1)
        models_row.addLayout(buttons)
        models_hint = QLabel(
            f"Searched in order, then DAGUERRE_MODELS and {home_dir() / 'models'}. "
            "Checkpoints go in a <i>checkpoints</i> subfolder (ComfyUI and A1111 folder "
            "names work too).",
            self,
        )
        models_hint.setProperty("role", "muted")
        models_hint.setWordWrap(True)
        models_box = QGroupBox("Models Folders", self)
        models_layout = QVBoxLayout(models_box)
        models_layout.addLayout(models_row)
        models_layout.addWidget(models_hint)

        # -- output
        self.output_edit = QLineEdit(settings.output_dir, self)
        self.output_edit.setObjectName("outputDir")
        self.output_edit.setPlaceholderText(str(default_output_dir()))
        self.output_edit.setClearButtonEnabled(True)
        self.browse_output_button = QPushButton("Browse…", self)
        self.browse_output_button.clicked.connect(self._browse_output)
        output_row = QHBoxLayout()
        output_row.addWidget(self.output_edit, 1)
        output_row.addWidget(self.browse_output_button)
        output_box = QGroupBox("Output Folder", self)
        output_layout = QVBoxLayout(output_box)
        output_layout.addLayout(output_row)
        output_hint = QLabel("Leave empty for the default folder shown.", self)
        output_hint.setProperty("role", "muted")
        output_layout.addWidget(output_hint)

        # -- engine
        devices = (*DEVICES, *cuda_devices())
        if settings.device not in devices:  # a GPU chosen elsewhere (cuda:3 in the settings)
            devices = (*devices, settings.device)
        names = DEVICE_NAMES | {
            d: f"CUDA GPU {d.partition(':')[2]}" for d in devices if d.startswith("cuda:")
        }
        self.device_box = _combo(self, devices, names, settings.device)
        self.device_box.setObjectName("device")
        self.acceleration_box = _combo(
            self, ACCELERATIONS, ACCELERATION_NAMES, settings.acceleration
        )
        self.acceleration_box.setObjectName("acceleration")
        self.acceleration_box.setToolTip(
            "How the sampler runs on an NVIDIA GPU. CUDA graphs replay each step without "
            "Python overhead; torch.compile also fuses kernels, compiling in the background "
            "the first time (cached for later launches). Off elsewhere."
        )
        self.precision_box = _combo(self, PRECISIONS, PRECISION_NAMES, settings.precision)
        self.precision_box.setObjectName("precision")
        self.previews_check = QCheckBox("Show live previews while sampling", self)
        self.previews_check.setObjectName("previews")
        self.previews_check.setChecked(settings.previews)
        self.rate_spin = QDoubleSpinBox(self)
        self.rate_spin.setObjectName("previewRate")
        self.rate_spin.setRange(0.5, 60.0)
        self.rate_spin.setSingleStep(1.0)
        self.rate_spin.setDecimals(1)
        self.rate_spin.setSuffix(" per second")
        self.rate_spin.setValue(settings.preview_rate)
        self.rate_spin.setToolTip(
            "At most this many previews a second (the last step "
            "always gets one). Fewer previews leave more time to sample."
        )
        self.previews_check.toggled.connect(self.rate_spin.setEnabled)
        self.rate_spin.setEnabled(settings.previews)
        self.silenced_edit = QLineEdit(", ".join(settings.silenced_advice), self)
        self.silenced_edit.setObjectName("silencedAdvice")
        self.silenced_edit.setPlaceholderText("none: every advice is shown")
        self.silenced_edit.setToolTip(
            "Advice rules not shown anywhere, separated by commas: steps.low, steps.high, "
            "cfg.high, cfg.low, steps.few_high, cfg.few_high, prompt.long, prompt.order, "
            "size.pixels, size.multiple, size.sdxl_conditioning, denoise.none, batch.memory, "
            "scratch. A prefix hides a family (cfg). Empty it to see all advice again."
        )
        self.cluster_box = QComboBox(self)
        self.cluster_box.setObjectName("cluster")
        self.cluster_box.setEditable(True)
        self.cluster_box.addItems(["local", "auto"])
        self.cluster_box.setCurrentText(settings.cluster)
        self.cluster_box.setToolTip(
            "Where runs go: local (this process), auto (the Ray cluster started with "
            "`ray start --head`, else a new local one) or ray://HOST:PORT. A batch then runs "
            "on one worker per GPU. Takes effect the next time Daguerre starts."
        )
        self.workers_spin = QSpinBox(self)
        self.workers_spin.setObjectName("clusterWorkers")
        self.workers_spin.setRange(0, 1024)
        self.workers_spin.setSpecialValueText("one per GPU")
        self.workers_spin.setValue(settings.cluster_workers)
        engine_box = QGroupBox("Engine", self)
        engine_form = QFormLayout(engine_box)
        engine_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        engine_form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        engine_form.setHorizontalSpacing(12)
        engine_form.addRow("Device", self.device_box)
        engine_form.addRow("Precision", self.precision_box)
        engine_form.addRow("Acceleration", self.acceleration_box)
        engine_form.addRow("Previews", self.previews_check)
        engine_form.addRow("Preview rate", self.rate_spin)
        engine_form.addRow("Hidden advice", self.silenced_edit)
        engine_form.addRow("Cluster", self.cluster_box)
        engine_form.addRow("Cluster workers", self.workers_spin)

        # -- appearance
        self.theme_box = _combo(self, THEMES, THEME_NAMES, settings.theme)
        self.theme_box.setObjectName("theme")
        look_box = QGroupBox("Appearance", self)
        look_form = QFormLayout(look_box)
        look_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        look_form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        look_form.setHorizontalSpacing(12)
        look_form.addRow("Theme", self.theme_box)
        # Same label column width in both forms, so the fields line up.
        metrics = self.fontMetrics()
        width = max(
            metrics.horizontalAdvance(text)
            for text in (
                "Device",
                "Precision",
                "Acceleration",
                "Previews",
                "Preview rate",
                "Hidden advice",
                "Cluster",
                "Cluster workers",
                "Theme",
            )
        )
        for form in (engine_form, look_form):
            for row in range(form.rowCount()):
                label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
                widget = label.widget() if label is not None else None
                if widget is not None:
                    widget.setMinimumWidth(width)

        self.button_box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.button_box.accepted.connect(self.accept)
        self.button_box.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 14)
        layout.setSpacing(10)
        for box in (models_box, output_box, engine_box, look_box):
            layout.addWidget(box)
        layout.addStretch(1)
        layout.addWidget(self.button_box)
        self._update_buttons()

    # ------------------------------------------------------------ public
    def settings(self) -> Settings:
        """The settings object, edited if the dialog was accepted."""
        return self._settings

    def values(self) -> dict[str, object]:
        """What the widgets hold now, by settings field name."""
        return {
            "models_dirs": [
                self.models_list.item(i).text() for i in range(self.models_list.count())
            ],
            "output_dir": self.output_edit.text().strip(),
            "device": self.device_box.currentData(),
            "precision": self.precision_box.currentData(),
            "acceleration": self.acceleration_box.currentData(),
            "previews": self.previews_check.isChecked(),
            "preview_rate": float(self.rate_spin.value()),
            "theme": self.theme_box.currentData(),
            "silenced_advice": [
                part.strip() for part in self.silenced_edit.text().split(",") if part.strip()
            ],
            "cluster": self.cluster_box.currentText().strip() or "local",
            "cluster_workers": self.workers_spin.value(),
        }

    def accept(self) -> None:
        """Write the values into the settings, save them, apply the theme, close."""
        cluster = self.cluster_box.currentText().strip() or "local"
        if not valid_cluster(cluster):
            QMessageBox.warning(
                self, "Settings", f"Cluster {cluster!r}: choose local, auto or ray://HOST:PORT."
            )
            return
        previous = {key: getattr(self._settings, key) for key in self.values()}
        for key, value in self.values().items():
            setattr(self._settings, key, value)
        try:
            self._settings.save()
        except OSError as exc:
            for key, value in previous.items():
                setattr(self._settings, key, value)
            QMessageBox.warning(self, "Settings", f"The settings could not be saved.\n\n{exc}")
            return
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, self._settings.theme)
        super().accept()

    # ------------------------------------------------------------ internals
    def _add_models_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add Models Folder", str(home_dir()))
        if not folder:
            return
        existing = {self.models_list.item(i).text() for i in range(self.models_list.count())}
        if folder not in existing:
            self.models_list.addItem(folder)
        self._update_buttons()

    def _remove_models_dirs(self) -> None:
        for item in self.models_list.selectedItems():
            self.models_list.takeItem(self.models_list.row(item))
        self._update_buttons()

    def _browse_output(self) -> None:
        start = self.output_edit.text().strip() or str(default_output_dir())
        folder = QFileDialog.getExistingDirectory(self, "Output Folder", start)
        if folder:
            self.output_edit.setText(folder)

    def _update_buttons(self) -> None:
        self.remove_models_button.setEnabled(bool(self.models_list.selectedItems()))
