"""`demo_sd15`, `demo_sd21` and `demo_sdxl` (session-scoped `DemoPaths`: a diffusers folder,
the same weights as an original-layout single file, and a ControlNet in both forms) and the
no-network guard live in `tests/conftest.py`, shared by every test package."""
