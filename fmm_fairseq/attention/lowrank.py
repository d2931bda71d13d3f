"""Far field: kernelised linear attention, averaged over r feature maps phi_1..phi_r.

  far_l(i) = phi_l(q_i) . sum_{j in S(i)} phi_l(k_j) v_j^T  /  (phi_l(q_i) . sum_{j in S(i)} phi_l(k_j) + eps)
  far(i)   = (1/r) sum_l far_l(i)

with S(i) = {j <= i} (causal) or every non-padded j (bidirectional). Padded keys are removed by
zeroing their features. The sums are kept in fp32 (or float64 for float64 inputs) whatever the
input dtype. All maps are computed together, stacked on an extra axis.

Causal attention runs by chunks in O(N * d^2): inside a chunk a masked (chunk x chunk) product,
across chunks the exclusive prefix sums S = sum phi(k) v^T and z = sum phi(k).
Tensors are (batch, heads, length, head_dim); ``key_padding_mask`` is (batch, length).
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from .feature_maps import FeatureMap, apply_feature_map

DEFAULT_EPS = 1e-6


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """fp32 for half precision inputs, the input's own dtype when it is wider."""
    return torch.promote_types(dtype, torch.float32)


def stacked_features(
    feature_maps: Sequence[FeatureMap],
    q: torch.Tensor,
    k: torch.Tensor,
    key_padding_mask: Optional[torch.Tensor],
    normalize: bool,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """phi_l(q), phi_l(k) for every map, as (batch, heads, maps, length, d) in the accumulation dtype.

    Padded keys' features are 0, so they add nothing to any sum.
    """
    dtype = accumulation_dtype(q.dtype)
    q, k = q.to(dtype), k.to(dtype)
    phi_q = torch.stack([apply_feature_map(phi, q, normalize) for phi in feature_maps], dim=2)
    phi_k = torch.stack([apply_feature_map(phi, k, normalize) for phi in feature_maps], dim=2)
    if key_padding_mask is not None:
        phi_k = phi_k.masked_fill(key_padding_mask.to(torch.bool)[:, None, None, :, None], 0.0)
    return phi_q, phi_k


def _causal_from_features(phi_q, phi_k, values, chunk_size: int, eps: float) -> torch.Tensor:
    """Causal linear attention over (..., length, d) features, chunk by chunk."""
    *lead, length, _ = phi_q.shape
    chunk = min(chunk_size, length)
    num_chunks = -(-length // chunk)
    pad = num_chunks * chunk - length

    def chunks(x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (0, 0, 0, pad)).view(*x.shape[:-2], num_chunks, chunk, x.shape[-1])

    phi_q, phi_k, values = chunks(phi_q), chunks(phi_k), chunks(values)
    causal_mask = torch.ones(chunk, chunk, dtype=torch.bool, device=phi_q.device).tril()
    intra = (phi_q @ phi_k.transpose(-1, -2)).masked_fill(~causal_mask, 0.0)  # ... n c c
    numerator = intra @ values
    denominator = intra.sum(-1, keepdim=True)
    if num_chunks > 1:  # what every earlier chunk contributes: exclusive prefix sums over chunks
        chunk_state = phi_k.transpose(-1, -2) @ values  # ... n d dv
        prefix_state = F.pad(torch.cumsum(chunk_state, dim=-3)[..., :-1, :, :], (0, 0, 0, 0, 1, 0))
        prefix_normaliser = F.pad(torch.cumsum(phi_k.sum(dim=-2), dim=-2)[..., :-1, :], (0, 0, 1, 0))
        numerator = numerator + phi_q @ prefix_state
        denominator = denominator + phi_q @ prefix_normaliser[..., None]
    out = numerator / (denominator + eps)
    return out.reshape(*out.shape[:-3], num_chunks * chunk, -1)[..., :length, :]


def _bidirectional_from_features(phi_q, phi_k, values, eps: float) -> torch.Tensor:
    """Non-causal linear attention over (..., length, d) features: one global state."""
    state = phi_k.transpose(-1, -2) @ values  # ... d dv
    normaliser = phi_k.sum(dim=-2, keepdim=True)  # ... 1 d
    return (phi_q @ state) / ((phi_q * normaliser).sum(-1, keepdim=True) + eps)


def mean_linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    feature_maps: Sequence[FeatureMap],
    causal: bool,
    key_padding_mask: Optional[torch.Tensor] = None,
    chunk_size: int = 64,
    normalize_features: bool = True,
    eps: float = DEFAULT_EPS,
) -> torch.Tensor:
    """The far field: linear attention with each map, averaged over the maps."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    phi_q, phi_k = stacked_features(feature_maps, q, k, key_padding_mask, normalize_features)
    values = v.to(phi_q.dtype)[:, :, None]  # broadcast over the maps axis
    if causal:
        out = _causal_from_features(phi_q, phi_k, values, chunk_size, eps)
    else:
        out = _bidirectional_from_features(phi_q, phi_k, values, eps)
    return out.mean(dim=2).to(v.dtype)


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
    return mean_linear_attention(q, k, v, [feature_map], causal, key_padding_mask, chunk_size, normalize_features, eps)


def mean_linear_attention_step(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    state: torch.Tensor,
    normaliser: torch.Tensor,
    feature_maps: Sequence[FeatureMap],
    key_padding_mask: Optional[torch.Tensor] = None,
    normalize_features: bool = True,
    eps: float = DEFAULT_EPS,
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One causal decoding step of the far field (all maps).

    q, k, v: (batch, heads, 1, head_dim); state S: (batch, heads, maps, d, dv) and normaliser z:
    (batch, heads, maps, d), both in ``accumulation_dtype``. Returns the output (mean over maps)
    and the updated (S, z).
    """
    phi_q, phi_k = stacked_features(feature_maps, q, k, key_padding_mask, normalize_features)  # b h r 1 d
    state = state + phi_k.transpose(-1, -2) @ v.to(phi_k.dtype)[:, :, None]
    normaliser = normaliser + phi_k[..., 0, :]
    numerator = phi_q @ state  # b h r 1 dv
    denominator = (phi_q[..., 0, :] * normaliser).sum(-1)[..., None, None]
    return (numerator / (denominator + eps)).mean(dim=2).to(v.dtype), state, normaliser
