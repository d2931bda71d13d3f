"""How the O(N) algorithms cut a sequence: chunks of positions, blocks of chunks, the band's reach.

Both fields cut (batch, heads, length, d) tensors into ``num_chunks`` chunks of ``chunk`` positions
(the last one padded), (batch, heads, num_chunks, chunk, d), and run through them in blocks of
``CHUNKS_PER_BLOCK`` chunks, so that no temporary is longer than a block. The Triton launchers use
the same reach and checks.
"""
from typing import List, Tuple

import torch
import torch.nn.functional as F

CHUNKS_PER_BLOCK = 16  # chunks processed together; memory beyond q, k, v and their gradients is O(block)


def check_chunk_size(chunk_size: int) -> None:
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")


def check_bandwidth(bandwidth: int) -> None:
    if bandwidth < 1:
        raise ValueError(f"bandwidth must be >= 1, got {bandwidth}")


def band_reach(bandwidth: int, causal: bool) -> Tuple[int, int]:
    """How far the band reaches (to the left, to the right) of a query position."""
    return bandwidth - 1, 0 if causal else bandwidth - 1


class Chunks:
    """``length`` positions in chunks of ``min(chunk_size, length)``, the last chunk padded."""

    def __init__(self, length: int, chunk_size: int):
        check_chunk_size(chunk_size)
        self.length = length
        self.chunk = max(1, min(chunk_size, length))
        self.num_chunks = -(-length // self.chunk)
        self.padded = self.num_chunks * self.chunk
        self.pad = self.padded - length

    def blocks(self) -> List[slice]:
        """The chunks' blocks, in order: slices of at most CHUNKS_PER_BLOCK chunks."""
        return [slice(first, min(first + CHUNKS_PER_BLOCK, self.num_chunks))
                for first in range(0, self.num_chunks, CHUNKS_PER_BLOCK)]

    def split(self, x: torch.Tensor, value: float = 0.0) -> torch.Tensor:
        """(b, h, length, d) -> (b, h, num_chunks, chunk, d), padded with ``value``."""
        if self.pad:
            x = F.pad(x, (0, 0, 0, self.pad), value=value)
        return x.reshape(x.shape[0], x.shape[1], self.num_chunks, self.chunk, x.shape[-1])

    def merge(self, x: torch.Tensor) -> torch.Tensor:
        """(b, h, num_chunks, chunk, d) -> (b, h, length, d)."""
        return x.reshape(x.shape[0], x.shape[1], self.padded, x.shape[-1])[:, :, : self.length]
