"""The fuzz corpus's damaged PNGs: cut, flipped, bad CRCs, garbage or oversized text
chunks, compressed text that is not zlib, iTXt that is not UTF-8, and valid PNGs carrying
mutated workflow text in every chunk kind (see test_fuzz_corpus.py)."""

from __future__ import annotations

import io
import json
import random
import zlib
from typing import Any

from PIL import Image

from tests.comfy.comfy_docs import sd15_api
from tests.engine.fuzz_corpus import (
    BASES,
    KINDS,
    _fresh,
    _mutate,
    _safely,
    _text_damage,
)

# --------------------------------------------------------------------------- PNGs
_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, body: bytes, crc: int | None = None) -> bytes:
    value = zlib.crc32(kind + body) if crc is None else crc
    return len(body).to_bytes(4, "big") + kind + body + value.to_bytes(4, "big")


def _image_chunks() -> tuple[bytes, bytes]:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), "white").save(buffer, format="PNG")
    data = buffer.getvalue()
    ihdr = data[8:33]
    idat_start = data.index(b"IDAT") - 4
    iend = data.rindex(b"IEND") - 4
    return ihdr, data[idat_start:iend]


_IHDR, _IDAT = _image_chunks()
_IEND = _chunk(b"IEND", b"")


def _text_chunk(rng: random.Random, key: str, text: bytes, log: list[str]) -> bytes:
    kind = rng.choice(["tEXt", "zTXt", "iTXt", "iTXt-z"])
    log.append(f"{kind} {key!r} {len(text)} bytes")
    name = key.encode("latin-1", "replace")
    if kind == "tEXt":
        return _chunk(b"tEXt", name + b"\0" + text)
    if kind == "zTXt":
        return _chunk(b"zTXt", name + b"\0\0" + zlib.compress(text))
    flag = b"\1\0" if kind == "iTXt-z" else b"\0\0"
    body = zlib.compress(text) if kind == "iTXt-z" else text
    return _chunk(b"iTXt", name + b"\0" + flag + b"en\0" + name + b"\0" + body)


def _png_case(rng: random.Random, log: list[str]) -> bytes:
    kind = rng.choice(KINDS)
    key = {"daguerre": "daguerre.workflow", "ui": "workflow", "api": "prompt"}[kind]
    if rng.random() < 0.15:
        key = rng.choice(
            ["workflow", "prompt", "daguerre.workflow", "daguerre.record", "Workflow", "", "k" * 80]
        )
    base_name, base = rng.choice(BASES[kind])
    log.append(f"png carrying {base_name}")
    doc = _fresh(base)
    for _ in range(rng.choice([0, 0, 1, 2, 3])):
        doc = _safely(lambda d: _mutate(rng, d, kind, log), doc, log)
    text = _encode(rng, doc, log)
    chunks = [_text_chunk(rng, key, text, log)]
    if rng.random() < 0.3:  # a second workflow: ComfyUI writes both, Daguerre a record too
        other = rng.choice(["workflow", "prompt", "daguerre.record"])
        chunks.append(_text_chunk(rng, other, json.dumps(sd15_api()).encode(), log))
    damage = rng.choice(
        [
            "none",
            "none",
            "cut",
            "flip",
            "crc",
            "garbage",
            "huge text",
            "bad zlib",
            "bad utf-8",
            "length",
            "no iend",
            "after iend",
            "two ihdr",
            "no idat",
            "signature",
            "bomb",
        ]
    )
    log.append(f"damage {damage}")
    before, after = [_IHDR], [_IDAT, _IEND]
    if damage == "crc":
        chunks[0] = chunks[0][:-4] + bytes(4)
    elif damage == "garbage":
        chunks.insert(
            rng.randrange(len(chunks) + 1),
            _chunk(
                rng.choice([b"tEXt", b"zTXt", b"iTXt", b"abCD", b"IDAT"]),
                rng.randbytes(rng.randrange(0, 300)),
            ),
        )
    elif damage == "huge text":
        size = rng.choice([70_000, 1_100_000, 3_000_000])
        filler = rng.choice([b"[" * size, b" " * size + b"{}", b"\xff" * size, b"1" * size])
        chunks.insert(0, _text_chunk(rng, key, filler, log))
    elif damage == "bad zlib":
        chunks.append(
            _chunk(b"zTXt", key.encode("latin-1", "replace") + b"\0\0" + rng.randbytes(40))
        )
    elif damage == "bad utf-8":
        chunks.append(_chunk(b"iTXt", b"workflow\0\0\0\0\0" + b"\xc3\x28\xa0\xa1" * 10))
    elif damage == "length":
        chunks[0] = (0x7FFF_FFF0).to_bytes(4, "big") + chunks[0][4:]
    elif damage == "no iend":
        after = [_IDAT]
    elif damage == "after iend":
        after = [_IDAT, _IEND, *chunks]
        chunks = []
    elif damage == "two ihdr":
        before = [_IHDR, _IHDR]
    elif damage == "no idat":
        after = [_IEND]
    elif damage == "bomb":  # compressed text that inflates far beyond its size
        chunks.append(
            _chunk(
                b"zTXt", b"prompt\0\0" + zlib.compress(b" " * rng.choice([2, 8]) * 1024 * 1024, 9)
            )
        )
    data = _SIGNATURE + b"".join(before) + b"".join(chunks) + b"".join(after)
    if damage == "cut":
        data = data[: rng.randrange(8, len(data))]
    elif damage == "flip":
        at = rng.randrange(8, len(data))
        data = data[:at] + bytes([data[at] ^ rng.randrange(1, 256)]) + data[at + 1 :]
    elif damage == "signature":
        data = (
            rng.choice(
                [
                    b"\x89PNG\r\n\x1a\x0a"[:7] + b"\0",
                    b"\xff\xd8\xff\xe0",
                    b"GIF89a",
                    b"RIFF\0\0\0\0WEBP",
                    b"BM",
                ]
            )
            + data[8:]
        )
    return data


def _encode(rng: random.Random, doc: Any, log: list[str]) -> bytes:
    try:
        text = json.dumps(doc, ensure_ascii=rng.random() < 0.3, allow_nan=True)
    except (RecursionError, ValueError):
        log.append("unencodable: deep")
        return b"[" * 5000
    data = text.encode("utf-8", "surrogatepass")
    return _text_damage(rng, data, log)
