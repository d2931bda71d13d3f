"""Near field: banded softmax attention in O(N * w) time and memory.

Query i attends to the keys in its band, with softmax normalised over the band only:
  causal:        i - w < j <= i        (w keys, itself included)
  bidirectional: |i - j| < w           (2w - 1 keys)
Padded keys (``key_padding_mask`` True) get no weight; a query with no visible key yields 0.

Queries are processed in chunks of ``chunk_size``; each chunk scores only the keys its band can
reach (chunk_size + w - 1 causal, chunk_size + 2w - 2 bidirectional), so no N x N tensor exists
(a sequence no longer than one chunk is scored directly).
Tensors are (batch, heads, length, head_dim); ``key_padding_mask`` is (batch, length).
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F


def band_reach(bandwidth: int, causal: bool) -> Tuple[int, int]:
    """How far the band reaches (to the left, to the right) of a query position."""
    return bandwidth - 1, 0 if causal else bandwidth - 1


def in_band(queries: int, keys: int, key_offset: int, left: int, right: int, device) -> torch.Tensor:
    """(queries, keys) bool: key j sits in the band of query i, key j standing at position j - key_offset."""
    offsets = torch.arange(keys, device=device)[None, :] - key_offset - torch.arange(queries, device=device)[:, None]
    return (offsets >= -left) & (offsets <= right)


def masked_softmax_average(
    scores: torch.Tensor, visible: torch.Tensor, values: torch.Tensor, dropout_p: float = 0.0
) -> torch.Tensor:
    """softmax(scores) over the visible keys, times values; rows with no visible key give 0.

    The softmax runs in fp32 at least (as fairseq's own attention does under fp16).
    """
    scores = scores.to(torch.promote_types(scores.dtype, torch.float32)).masked_fill(~visible, float("-inf"))
    row_max = scores.amax(dim=-1, keepdim=True)
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    weights = torch.exp(scores - row_max)
    weights = weights / weights.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(weights.dtype).tiny)
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p, training=True)
    return weights.to(values.dtype) @ values


def band_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    bandwidth: int,
    causal: bool,
    key_padding_mask: Optional[torch.Tensor] = None,
    chunk_size: int = 64,
    scale: Optional[float] = None,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """Banded softmax attention softmax_band(q k^T * scale) v, computed chunk by chunk."""
    if bandwidth < 1:
        raise ValueError(f"bandwidth must be >= 1, got {bandwidth}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    batch, heads, length, head_dim = q.shape
    scale = head_dim ** -0.5 if scale is None else scale
    left, right = band_reach(bandwidth, causal)
    key_exists = torch.ones(batch, length, dtype=torch.bool, device=q.device)
    if key_padding_mask is not None:
        key_exists = ~key_padding_mask.to(torch.bool)
    if length <= chunk_size:  # one chunk holds everything: score the (short) N x N band directly
        visible = in_band(length, length, 0, left, right, q.device)[None, None] & key_exists[:, None, None, :]
        return masked_softmax_average((q @ k.transpose(-1, -2)) * scale, visible, v, dropout_p)

    chunk = chunk_size
    num_chunks = -(-length // chunk)
    padded = num_chunks * chunk
    window = chunk + left + right
    # Pad the key axis so that chunk c sees keys [c*chunk - left, c*chunk + chunk + right).
    key_pad = (left, padded - length + right)
    k_windows = F.pad(k, (0, 0) + key_pad).unfold(2, window, chunk)  # b h n d window
    v_windows = F.pad(v, (0, 0) + key_pad).unfold(2, window, chunk)
    q_chunks = F.pad(q, (0, 0, 0, padded - length)).view(batch, heads, num_chunks, chunk, head_dim)
    scores = torch.einsum("bhncd,bhndw->bhncw", q_chunks, k_windows) * scale

    window_keys_exist = F.pad(key_exists, key_pad, value=False).unfold(1, window, chunk)  # b n window
    visible = in_band(chunk, window, left, left, right, q.device)[None, None, None] & window_keys_exist[:, None, :, None, :]
    out = masked_softmax_average(scores, visible, v_windows.transpose(-1, -2), dropout_p)
    return out.reshape(batch, heads, padded, v.shape[-1])[:, :, :length]


def band_attention_step(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    past_keys: torch.Tensor,
    past_values: torch.Tensor,
    past_padding: torch.Tensor,
    bandwidth: int,
    key_padding_mask: Optional[torch.Tensor] = None,
    scale: Optional[float] = None,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One causal decoding step: the new query attends to the last w-1 keys plus its own.

    q, k, v: (batch, heads, 1, head_dim); past_keys/values: (batch, heads, m, head_dim) with
    m <= w-1; past_padding: (batch, m) bool. Returns the output and the band state to keep
    (the last w-1 keys, values and their padding flags).
    """
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    new_padding = torch.zeros(q.shape[0], 1, dtype=torch.bool, device=q.device)
    if key_padding_mask is not None:
        new_padding = key_padding_mask.to(torch.bool).reshape(q.shape[0], 1)
    keys = torch.cat([past_keys, k], dim=2)
    values = torch.cat([past_values, v], dim=2)
    padding = torch.cat([past_padding, new_padding], dim=1)
    scores = (q @ keys.transpose(-1, -2)) * scale  # b h 1 m+1
    out = masked_softmax_average(scores, ~padding[:, None, None, :], values)
    first_kept = max(0, keys.shape[2] - (bandwidth - 1))
    return out, keys[:, :, first_kept:], values[:, :, first_kept:], padding[:, first_kept:]
