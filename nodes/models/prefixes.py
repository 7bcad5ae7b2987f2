"""Where a single-file (LDM-layout) checkpoint keeps each component: its key prefixes.

A leaf module (it imports nothing) so that the family records and the converters can both
name them without importing each other.
"""

from __future__ import annotations

UNET = "model.diffusion_model."
VAE = "first_stage_model."
SD1_CLIP = "cond_stage_model.transformer."
SD2_OPENCLIP = "cond_stage_model.model."
SDXL_CLIP = "conditioner.embedders.0.transformer."
SDXL_OPENCLIP = "conditioner.embedders.1.model."
SDXL_REFINER_OPENCLIP = "conditioner.embedders.0.model."
CONTROLNET = "control_model."
