"""desktop/ never imports the model libraries (see docs/ARCHITECTURE.md, "The boundary")."""

from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = (
    "torch",
    "diffusers",
    "transformers",
    "nodes.diffusion",
    "nodes.models",
    "safetensors",
    "cv2",
)
DESKTOP = Path(__file__).resolve().parents[2] / "desktop"


def test_desktop_imports_no_model_libraries() -> None:
    offenders = []
    for file in sorted(DESKTOP.rglob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                    offenders.append(f"{file.relative_to(DESKTOP.parent)}:{node.lineno} {name}")
    assert offenders == []


def test_launcher_sends_subcommands_to_the_cli(capsys) -> None:
    from desktop.launcher import cli_commands, main

    assert {"run", "validate", "nodes", "models", "make-demo-model"} <= cli_commands()
    assert main(["nodes"]) == 0
    assert "sampling.sampler" in capsys.readouterr().out
    assert main(["no-such-file-or-command"]) == 2  # a usage error, not a window


def test_prompt_token_counts_match_the_encoder() -> None:
    """The count the prompt editor shows is the count the text encoder encodes."""
    from desktop.canvas.params import count_tokens
    from nodes.models.tokenizer import clip_tokenizer
    from nodes.tokens import exact_count, load_tokenizer, tokenize

    load_tokenizer()
    for text in ("a photo of a cat", "(red:1.3) fox, \\\\(snow\\\\) " * 12, "", "café naïve"):
        assert exact_count(text) == tokenize(clip_tokenizer(), text).count
        assert count_tokens(text) == (exact_count(text), True)
    assert exact_count("a photo of a cat") == 5
