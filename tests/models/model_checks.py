"""Assertions shared by the `nodes.models` tests."""

from __future__ import annotations

import torch


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    """Same tensor names, and every tensor bit-identical."""
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys(), sorted(set(sa) ^ set(sb))[:5]
    different = [k for k in sa if not torch.equal(sa[k], sb[k])]
    assert not different, different[:5]
