"""Dense O(N^2) oracles of the near field, far field and FMM blend (tests and benchmarks only).

They build the full N x N score matrix and mask it, as the seed paper's released code does, so
they are easy to read and check by eye; never use them on long sequences.
"""
from typing import Optional

import torch

from .feature_maps import FeatureMap, apply_feature_map, resolve_feature_maps
from .config import FMMConfig, alibi_slopes, decay_rates


def dense_band_mask(length: int, bandwidth: int, causal: bool, device=None) -> torch.Tensor:
    """(length, length) bool: True where query i may attend to key j."""
    i = torch.arange(length, device=device)[:, None]
    j = torch.arange(length, device=device)[None, :]
    mask = (i - j).abs() < bandwidth
    return mask & (j <= i) if causal else mask


def dense_band_attention(q, k, v, bandwidth: int, causal: bool, key_padding_mask: Optional[torch.Tensor] = None,
                         slopes: Optional[torch.Tensor] = None):
    """softmax over the band of q k^T / sqrt(d) (- slopes_h |i - j|), times v; rows with no visible key give 0."""
    scores = q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5
    if slopes is not None:
        positions = torch.arange(q.shape[2], device=q.device)
        distance = (positions[:, None] - positions[None, :]).abs().to(scores.dtype)
        scores = scores - slopes.to(scores.dtype).view(-1, 1, 1) * distance
    visible = dense_band_mask(q.shape[2], bandwidth, causal, q.device)[None, None]
    if key_padding_mask is not None:
        visible = visible & ~key_padding_mask.bool()[:, None, None, :]
    weights = torch.softmax(scores.masked_fill(~visible, float("-inf")), dim=-1)
    return torch.nan_to_num(weights, nan=0.0) @ v


def dense_linear_attention(
    q, k, v, feature_map: FeatureMap, causal: bool, key_padding_mask: Optional[torch.Tensor] = None,
    normalize_features: bool = True, eps: float = 1e-6, decay: Optional[torch.Tensor] = None, skip: int = 0,
):
    """phi(q) phi(k)^T (causal: only j <= i - skip, times decay^(i - skip - j) per head),
    row-normalised with + eps, times v."""
    phi_q = apply_feature_map(feature_map, q, normalize_features)
    phi_k = apply_feature_map(feature_map, k, normalize_features)
    kernel = phi_q @ phi_k.transpose(-1, -2)
    length = q.shape[2]
    if causal:
        kernel = kernel * torch.ones(length, length, device=q.device, dtype=kernel.dtype).tril(-skip)
        if decay is not None:
            # counted from the newest key the far field sees (i - skip)
            distance = (torch.arange(length)[:, None] - skip - torch.arange(length)[None, :]).clamp(min=0).to(q.device)
            kernel = kernel * decay.to(kernel.dtype).view(-1, 1, 1) ** distance
    if key_padding_mask is not None:
        kernel = kernel.masked_fill(key_padding_mask.bool()[:, None, None, :], 0.0)
    return (kernel @ v) / (kernel.sum(-1, keepdim=True) + eps)


def dense_fmm_attention(q, k, v, config: FMMConfig, near_weight, far_weight, key_padding_mask=None, far_projection=None):
    """near_weight * dense band + far_weight * mean over maps of dense linear attention, the latter of
    q W_h, k W_h with ``far_projection`` W (heads, head_dim, far_feature_dim) when given."""
    out = torch.zeros_like(v)
    if config.has_near:
        slopes = alibi_slopes(q.shape[1]).to(q) if config.near_alibi else None
        out = out + near_weight * dense_band_attention(q, k, v, config.bandwidth, config.causal, key_padding_mask, slopes)
    if config.has_far:
        maps = resolve_feature_maps(config.feature_maps)
        decay = decay_rates(config.far_horizons, q.shape[1]).to(q) if config.causal else None
        if far_projection is not None:
            q, k = q @ far_projection, k @ far_projection
        far = sum(
            dense_linear_attention(
                q, k, v, phi, config.causal, key_padding_mask, config.normalize_features, config.eps, decay, config.far_skip
            )
            for phi in maps
        )
        out = out + far_weight * far / len(maps)
    return out
