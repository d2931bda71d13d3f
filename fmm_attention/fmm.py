"""FMM attention: near field (banded softmax) blended with far field (linear attention).

  out = near_weight * near + far_weight * (1/r) sum_l far_l

near = ``near.band_attention`` with bandwidth w, far_l = ``far.mean_linear_attention``'s linear
attention with feature map phi_l. ``near_weight`` and ``far_weight`` broadcast against (batch,
heads, length, head_dim): (heads, 1, 1) for one weight per head, (heads, 1, head_dim) per channel.
The seed paper's language model: near weight per channel, learned, from 0; far weight fixed at 1;
maps (elu, elu_flip). w = 0 switches the near field off, no feature maps the far field.

``FMMConfig.backend`` picks who computes it: ``torch`` (this package's pure-torch math, any
device), ``triton`` (the fused GPU kernels of ``fmm_attention.triton``) or ``auto`` (Triton for
CUDA tensors of fp16/bf16/fp32 when Triton is installed, torch otherwise).
"""
from typing import Optional

import torch

from .config import FMMConfig
from .far import mean_linear_attention
from .feature_maps import resolve_feature_maps
from .near import band_attention


def fmm_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    config: FMMConfig,
    near_weight: Optional[torch.Tensor],
    far_weight: Optional[torch.Tensor],
    key_padding_mask: Optional[torch.Tensor] = None,
    dropout_p: float = 0.0,
) -> torch.Tensor:
    """Full-sequence FMM attention in O(N) time and memory.

    Args:
        q, k, v: (batch, heads, length, head_dim) (v may have its own last size).
        config: what to compute (``FMMConfig``).
        near_weight, far_weight: broadcastable to the output; None for a field that is off.
        key_padding_mask: (batch, length) bool, True where a key is padding; None: no padding.
        dropout_p: dropout on the near field's softmax weights.
    Returns:
        (batch, heads, length, value_dim).
    """
    if config.uses_triton(q):
        from . import triton as kernels

        return kernels.fmm_attention(q, k, v, config, near_weight, far_weight, key_padding_mask, dropout_p)
    # one copy each up front: both fields cut q, k, v into chunks, which would copy a strided view
    # (such as fairseq's (time, batch, channel) projections seen as heads) at every use
    q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
    out = None
    if config.has_near:
        near = band_attention(
            q, k, v, config.bandwidth, config.causal, key_padding_mask, config.chunk_size, dropout_p=dropout_p,
            slopes=config.near_slopes(q.shape[1], q),
        )
        out = near_weight * near
    if config.has_far:
        far = mean_linear_attention(
            q, k, v, resolve_feature_maps(config.feature_maps), config.causal, key_padding_mask,
            config.chunk_size, config.normalize_features, config.eps, config.far_decay(q.shape[1], q), config.far_skip,
        )
        out = far_weight * far if out is None else torch.addcmul(out, far_weight, far)
    return out
