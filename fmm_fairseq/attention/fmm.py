"""FMM attention: near field (banded softmax) blended with far field (linear attention).

  out = near_weight * near + far_weight * mean_l far_l

near = ``band_attention`` with bandwidth w, far_l = linear attention with feature map phi_l
(l = 1..r; ``mean_linear_attention`` computes the mean over the maps). ``near_weight`` and
``far_weight`` broadcast against (batch, heads, length, head_dim): shape (heads, 1, 1) for one
weight per head or (heads, 1, head_dim) for one per channel.
The seed paper's language model is ``near_weight`` per channel, learned, initialised to 0, and a
fixed ``far_weight`` of 1 with maps (elu, elu_flip): w * near + 0.5 * far_elu + 0.5 * far_elu_flip.
w = 0 switches the near field off, no feature maps switch the far field off.

``FMMConfig.backend`` picks who computes ``fmm_attention``: ``torch`` (this package's pure-torch
math, any device), ``triton`` (the fused GPU kernels of ``kernels/``) or ``auto`` (Triton for
CUDA tensors of fp16/bf16/fp32 when Triton is installed, torch otherwise). Decoding steps always
run in torch.
"""
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import torch

from . import kernels
from .band import band_attention, band_attention_step
from .feature_maps import resolve_feature_maps
from .lowrank import (
    DEFAULT_EPS, accumulation_dtype, mean_linear_attention, mean_linear_attention_cached_step, mean_linear_attention_step,
)


BACKENDS = ("auto", "torch", "triton")
TRITON_DTYPES = (torch.float16, torch.bfloat16, torch.float32)


class FMMOptionError(ValueError):
    """An invalid FMM setting; ``option`` names the offending field."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")
        self.option = option
        self.message = message


@dataclass(frozen=True)
class FMMConfig:
    """What an FMM attention layer computes (everything but the learned blend weights)."""

    bandwidth: int = 20
    feature_maps: Tuple[str, ...] = ("elu", "elu_flip")
    causal: bool = True
    chunk_size: int = 64
    normalize_features: bool = True
    eps: float = DEFAULT_EPS
    backend: str = "torch"

    def __post_init__(self):
        if self.bandwidth < 0:
            raise FMMOptionError("bandwidth", f"must be >= 0 (0 switches the near field off), got {self.bandwidth}")
        try:
            resolve_feature_maps(self.feature_maps)
        except ValueError as error:
            raise FMMOptionError("feature_maps", str(error)) from None
        if self.bandwidth == 0 and not self.feature_maps:
            raise FMMOptionError(
                "bandwidth", "0 together with no feature maps switches off both the near and the far field: nothing would attend"
            )
        if self.chunk_size < 1:
            raise FMMOptionError("chunk_size", f"must be >= 1, got {self.chunk_size}")
        if self.eps <= 0:
            raise FMMOptionError("eps", f"must be > 0, got {self.eps}")
        if self.backend not in BACKENDS:
            raise FMMOptionError("backend", f"unknown backend {self.backend!r}; choices: {', '.join(BACKENDS)}")
        if self.backend == "triton":
            reason = kernels.triton_unavailable_reason()
            if reason is not None:
                raise FMMOptionError("backend", f"'triton' cannot run here: {reason}")

    @property
    def has_near(self) -> bool:
        return self.bandwidth > 0

    @property
    def has_far(self) -> bool:
        return len(self.feature_maps) > 0

    def uses_triton(self, q: torch.Tensor) -> bool:
        """Whether ``fmm_attention`` runs the Triton kernels for these inputs."""
        if self.backend == "auto":
            return q.is_cuda and q.dtype in TRITON_DTYPES and kernels.triton_installed()
        return self.backend == "triton"


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
    """Full-sequence FMM attention, (batch, heads, length, head_dim) in and out, O(N) cost."""
    if config.uses_triton(q):
        return kernels.fmm_attention(q, k, v, config, near_weight, far_weight, key_padding_mask, dropout_p)
    # one copy each up front: both fields cut q, k, v into chunks, which would copy a strided view
    # (such as fairseq's (time, batch, channel) projections seen as heads) at every use
    q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
    out = None
    if config.has_near:
        near = band_attention(
            q, k, v, config.bandwidth, config.causal, key_padding_mask, config.chunk_size, dropout_p=dropout_p
        )
        out = near_weight * near
    if config.has_far:
        far = mean_linear_attention(
            q, k, v, resolve_feature_maps(config.feature_maps), config.causal, key_padding_mask,
            config.chunk_size, config.normalize_features, config.eps,
        )
        out = far_weight * far if out is None else torch.addcmul(out, far_weight, far)
    return out


def empty_decode_state(
    config: FMMConfig, batch: int, heads: int, head_dim: int, value_dim: int, like: torch.Tensor
) -> Dict[str, torch.Tensor]:
    """Decoder state before the first token: no keys yet (see ``fmm_attention_step``)."""
    state = {
        "prev_key": like.new_zeros(batch, heads, 0, head_dim),
        "prev_value": like.new_zeros(batch, heads, 0, value_dim),
    }
    if config.has_far:
        maps, dtype = len(config.feature_maps), accumulation_dtype(like.dtype)
        state["prev_key_features"] = torch.zeros(batch, heads, maps, 0, head_dim, dtype=dtype, device=like.device)
    return state


def far_sums_from(config: FMMConfig, head_dim: int, value_dim: int) -> int:
    """The number of tokens from which the band's last w-1 values plus the far field's sums [S | z]
    (maps * d * (dv + 1) numbers per head) take no more room than every value and key feature
    phi_l(k) kept (the band's w-1 keys are kept either way)."""
    maps = len(config.feature_maps)
    kept = max(config.bandwidth - 1, 0) * value_dim + maps * head_dim * (value_dim + 1)
    return -(-kept // (value_dim + maps * head_dim))


def fmm_attention_step(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    state: Dict[str, torch.Tensor],
    config: FMMConfig,
    near_weight: Optional[torch.Tensor],
    far_weight: Optional[torch.Tensor],
    key_padding_mask: Optional[torch.Tensor] = None,
) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
    """One causal decoding step (length 1) from ``state``; returns the output and the new state.

    The band needs the last w-1 keys and values (``prev_key``, ``prev_value``). For the far field the
    state holds whichever is smaller: while few tokens were seen, every value and key feature phi_l(k)
    (``prev_value`` then holds them all, ``prev_key_features``; the far field is summed over them at
    each step, as softmax attention's cache is); from ``far_sums_from`` tokens on, per feature map the
    sums ``far_state`` = [S | z] = [sum phi(k) v^T | sum phi(k)]: O(w + r * d^2) numbers per head
    however many steps follow. ``prev_key_padding_mask`` flags the kept values' tokens that were
    padding; it joins the state at the first padded step.
    """
    if not config.causal:
        raise ValueError("incremental decoding needs a causal FMM layer")
    past = state["prev_value"].shape[2]
    keys = torch.cat([state["prev_key"], k], dim=2)  # the last w at most
    values = torch.cat([state["prev_value"], v], dim=2)  # all of them while the far field keeps them
    padding = _kept_padding(state.get("prev_key_padding_mask"), key_padding_mask, q.shape[0], past)
    new_state: Dict[str, torch.Tensor] = {}
    band_keep = keep = max(config.bandwidth - 1, 0)
    out = None
    if config.has_near:
        out = near_weight * band_attention_step(q, keys, values, padding, config.bandwidth)
    if config.has_far:
        feature_maps = resolve_feature_maps(config.feature_maps)
        if "far_state" in state:
            far, new_state["far_state"] = mean_linear_attention_step(
                q, k, v, state["far_state"], feature_maps, key_padding_mask, config.normalize_features, config.eps
            )
        else:
            to_sums = past + 1 >= far_sums_from(config, q.shape[-1], v.shape[-1])
            far, features, sums = mean_linear_attention_cached_step(
                q, k, state["prev_key_features"], values, feature_maps, key_padding_mask,
                config.normalize_features, config.eps, return_sums=to_sums,
            )
            if to_sums:
                new_state["far_state"] = sums
            else:
                new_state["prev_key_features"], keep = features, past + 1
        out = far_weight * far if out is None else torch.addcmul(out, far_weight, far)
    new_state["prev_key"] = keys[:, :, keys.shape[2] - min(band_keep, keys.shape[2]):]
    first_kept = past + 1 - min(keep, past + 1)
    new_state["prev_value"] = values[:, :, first_kept:]
    if padding is not None:
        new_state["prev_key_padding_mask"] = padding[:, first_kept:]
    return out, new_state


def _kept_padding(
    past: Optional[torch.Tensor], new: Optional[torch.Tensor], batch: int, past_length: int
) -> Optional[torch.Tensor]:
    """Padding flags of the kept keys and the new one, (batch, past_length + 1); None if none is padded yet."""
    if past is None and new is None:
        return None
    device = (past if past is not None else new).device
    if past is None:
        past = torch.zeros(batch, past_length, dtype=torch.bool, device=device)
    new = torch.zeros(batch, 1, dtype=torch.bool, device=device) if new is None else new.to(torch.bool).reshape(batch, 1)
    return torch.cat([past, new], dim=1)
