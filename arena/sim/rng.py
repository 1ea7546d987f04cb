"""Counter-based random numbers: a pure function of (seed, episode, wave, stream, index).

A batch of B games must equal B single games with the same seeds, so no game may draw from a shared generator.
Each draw hashes its coordinates instead (a 32-bit integer mix, Wellons' "hash32" family, kept to 32 bits so that
int64 arithmetic never overflows), which is the same on every device and for any batch composition.
"""

from __future__ import annotations

import torch

_MASK32 = 0xFFFFFFFF
_MULT = 0x45D9F3B


def _mix32(x: torch.Tensor) -> torch.Tensor:
    x = x & _MASK32
    x = (((x >> 16) ^ x) * _MULT) & _MASK32
    x = (((x >> 16) ^ x) * _MULT) & _MASK32
    return (x >> 16) ^ x


def hash_keys(*keys: torch.Tensor | int) -> torch.Tensor:
    """Combine integer keys (broadcasting tensors) into one 32-bit key."""
    h: torch.Tensor | int = 0x9E3779B9
    for key in keys:
        h = _mix32((torch.as_tensor(h) ^ _mix32(torch.as_tensor(key) + 0x7F4A7C15)) * 31 + 0x165667B1)
    return torch.as_tensor(h)


def uniform(key: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Uniform floats in [0, 1) of shape [B, *shape] from per-game keys [B]."""
    count = 1
    for n in shape:
        count *= n
    index = torch.arange(count, device=key.device, dtype=torch.long)
    bits = _mix32(_mix32(key[:, None] ^ (index[None, :] * 0x27D4EB2F)) + index[None, :])
    return (bits >> 8).to(torch.float32).mul_(1.0 / (1 << 24)).reshape((key.shape[0],) + shape)


def episode_key(seed: torch.Tensor, episode: torch.Tensor, wave: torch.Tensor, stream: int) -> torch.Tensor:
    """The key of one random stream of a game's episode and wave. All arguments [B] long except `stream`."""
    return hash_keys(seed, episode, wave, stream)
