"""Offline model loading for SD1.x, SD2.x, SDXL and its refiner: detection, loading,
tokenizer, demo models.

Importing this package stays cheap (torch, diffusers and transformers load only when a
function that needs them runs). Each name has one home; import it from there:

- :mod:`nodes.models.loading` — ``load_checkpoint``, ``load_controlnet``, ``load_vae``
- :mod:`nodes.models.detect` — ``detect(path, prediction) -> Detection``: family and
  configs without loading weights
- :mod:`nodes.models.families` — the :class:`~nodes.models.families.Family` records,
  ``get_family``, ``latent_to_rgb``
- :mod:`nodes.models.tokenizer` — ``clip_tokenizer(pad_token)``
- :mod:`nodes.models.fingerprint` — ``file_fingerprint``, ``sha256_file`` (cached digests)
- :mod:`nodes.models.demo` — ``make_demo_model`` (and ``make_demo_refiner``,
  ``make_demo_inpainting_model``): tiny random-weight models of the real architectures
- :mod:`nodes.models.errors` — ``ModelError``, every failure to use a model file, with a
  message for people
- :mod:`nodes.models.ldm`, :mod:`nodes.models.to_ldm`, :mod:`nodes.models.prefixes` — the
  original single-file layout and its conversion
"""

from __future__ import annotations

from nodes.models.quiet import drop_known_notices

drop_known_notices()  # before anything imports transformers
