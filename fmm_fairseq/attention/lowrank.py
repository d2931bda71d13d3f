"""Far field: kernelised linear attention, one feature map phi at a time.

  far(i) = phi(q_i) . sum_{j in S(i)} phi(k_j) v_j^T  /  (phi(q_i) . sum_{j in S(i)} phi(k_j) + eps)

with S(i) = {j <= i} (causal) or every non-padded j (bidirectional). Padded keys are removed by
zeroing their features. The sums are kept in fp32 (or float64 for float64 inputs) whatever the
input dtype.

Causal attention runs by chunks in O(N * d^2): inside a chunk a masked (chunk x chunk) product,
across chunks the exclusive prefix sums S = sum phi(k) v^T and z = sum phi(k).
Tensors are (batch, heads, length, head_dim); ``key_padding_mask`` is (batch, length).
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from .feature_maps import FeatureMap, apply_feature_map

DEFAULT_EPS = 1e-6


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """fp32 for half precision inputs, the input's own dtype when it is wider."""
    return torch.promote_types(dtype, torch.float32)


def _features(
    feature_map: FeatureMap,
    q: torch.Tensor,
    k: torch.Tensor,
    key_padding_mask: Optional[torch.Tensor],
    normalize: bool,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """phi(q), phi(k) in the accumulation dtype, with padded keys' features set to 0."""
    dtype = accumulation_dtype(q.dtype)
    phi_q = apply_feature_map(feature_map, q.to(dtype), normalize)
    phi_k = apply_feature_map(feature_map, k.to(dtype), normalize)
    if key_padding_mask is not None:
        phi_k = phi_k.masked_fill(key_padding_mask.to(torch.bool)[:, None, :, None], 0.0)
    return phi_q, phi_k


def linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    feature_map: FeatureMap,
    causal: bool,
    key_padding_mask: Optional[torch.Tensor] = None,
    chunk_size: int = 64,
    normalize_features: bool = True,
    eps: float = DEFAULT_EPS,
) -> torch.Tensor:
    """Linear attention with one feature map; causal by chunks, bidirectional in one pass."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    phi_q, phi_k = _features(feature_map, q, k, key_padding_mask, normalize_features)
    values = v.to(phi_k.dtype)
    if not causal:
        state = phi_k.transpose(-1, -2) @ values  # b h d dv
        normaliser = phi_k.sum(dim=2)  # b h d
        numerator = phi_q @ state
        denominator = (phi_q * normaliser[:, :, None, :]).sum(-1, keepdim=True)
        return (numerator / (denominator + eps)).to(v.dtype)

    batch, heads, length, head_dim = q.shape
    chunk = min(chunk_size, length)
    num_chunks = -(-length // chunk)
    pad = num_chunks * chunk - length

    def chunks(x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (0, 0, 0, pad)).view(batch, heads, num_chunks, chunk, x.shape[-1])

    phi_q, phi_k, values = chunks(phi_q), chunks(phi_k), chunks(values)
    chunk_state = phi_k.transpose(-1, -2) @ values  # b h n d dv
    chunk_normaliser = phi_k.sum(dim=3)  # b h n d
    # Exclusive prefix over chunks: what every earlier chunk contributes.
    prefix_state = F.pad(torch.cumsum(chunk_state, dim=2)[:, :, :-1], (0, 0, 0, 0, 1, 0))
    prefix_normaliser = F.pad(torch.cumsum(chunk_normaliser, dim=2)[:, :, :-1], (0, 0, 1, 0))

    causal_mask = torch.ones(chunk, chunk, dtype=torch.bool, device=q.device).tril()
    intra = (phi_q @ phi_k.transpose(-1, -2)).masked_fill(~causal_mask, 0.0)  # b h n c c
    numerator = intra @ values + phi_q @ prefix_state
    denominator = intra.sum(-1, keepdim=True) + (phi_q @ prefix_normaliser[..., None])
    out = numerator / (denominator + eps)
    return out.reshape(batch, heads, num_chunks * chunk, -1)[:, :, :length].to(v.dtype)


def linear_attention_step(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    state: torch.Tensor,
    normaliser: torch.Tensor,
    feature_map: FeatureMap,
    key_padding_mask: Optional[torch.Tensor] = None,
    normalize_features: bool = True,
    eps: float = DEFAULT_EPS,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One causal decoding step with one feature map.

    q, k, v: (batch, heads, 1, head_dim); state S: (batch, heads, d, dv) and normaliser z:
    (batch, heads, d), both in ``accumulation_dtype``. Returns the output and the updated (S, z).
    """
    phi_q, phi_k = _features(feature_map, q, k, key_padding_mask, normalize_features)
    state = state + phi_k.transpose(-1, -2) @ v.to(phi_k.dtype)
    normaliser = normaliser + phi_k[:, :, 0]
    numerator = phi_q @ state
    denominator = (phi_q[:, :, 0] * normaliser).sum(-1)[..., None, None]
    return (numerator / (denominator + eps)).to(v.dtype), state, normaliser
