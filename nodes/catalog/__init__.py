"""What the models folders hold, read without torch (the app and the CLI's listing use it
directly; ``desktop/`` may not import :mod:`nodes.models`).

- :mod:`.headers`: family, precision and shapes of a model file from its header only
  (safetensors JSON header, diffusers ``config.json``), never its weights.
- :mod:`.listing`: the catalogue — every file by kind with its family, size, metadata,
  preview picture and cached SHA-256 (the Models panel, ``daguerre models``).
- :mod:`.embeddings`: the ``embedding:NAME`` prompt syntax, finding an embedding's file and
  counting its vectors (the prompt editors' token counts include them).
- :mod:`.layouts`: recognising ComfyUI's and AUTOMATIC1111's models folders.
"""
