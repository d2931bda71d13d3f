"""What an FMM attention layer computes: the one source of every setting and its default.

``FMMConfig`` holds what the attention functions need (the band, the far field's maps, causality,
the backend); ``BlendConfig`` how ``FMMAttention`` blends the two fields with learned weights.
Bad values raise ``FMMOptionError`` naming the field, when the config is built.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import torch

from .feature_maps import resolve_feature_maps

BACKENDS = ("auto", "torch", "triton")
BLEND_GRANULARITIES = ("channel", "head")
TRITON_DTYPES = (torch.float16, torch.bfloat16, torch.float32)
DEFAULT_EPS = 1e-6


class FMMOptionError(ValueError):
    """An invalid FMM setting; ``option`` names the offending field."""

    def __init__(self, option: str, message: str):
        super().__init__(f"{option}: {message}")
        self.option = option
        self.message = message


@dataclass(frozen=True)
class FMMConfig:
    """What ``fmm_attention`` computes (everything but the blend weights).

    bandwidth:          near field w (causal: keys i-w+1..i; bidirectional: |i-j| < w); 0 = no near field
    feature_maps:       far field maps phi_1..phi_r (names in ``FEATURE_MAPS``), averaged; () = no far field
    causal:             decoder (True) or encoder (False) attention
    chunk_size:         sequence chunk of the O(N) algorithms (speed only, not results)
    normalize_features: rescale phi(q), phi(k) to sum to 1 over features (the paper's LM setting)
    eps:                added to the far field's normaliser
    backend:            'torch', 'triton' (GPU kernels) or 'auto' (Triton for CUDA tensors when installed)
    far_outside_band:   causal: the far field sees only the keys outside the band (j <= i - w), the fast
                        multipole method's own split; False: every key j <= i (the paper)
    far_horizons:       causal: the far field forgets, per head h, at rate g_h = 1 - 1/horizon_h; one
                        horizon (tokens) for every head, or (first head's, last head's) spaced
                        geometrically; () = no decay (the paper)
    near_alibi:         a relative position bias inside the band, -m_h |i - j| with ALiBi's slopes
                        m_h = 2^(-8 (h+1) / heads): word order for models without absolute positions
    """

    bandwidth: int = 20
    feature_maps: Tuple[str, ...] = ("elu", "elu_flip")
    causal: bool = True
    chunk_size: int = 64
    normalize_features: bool = True
    eps: float = DEFAULT_EPS
    backend: str = "auto"
    far_outside_band: bool = False
    far_horizons: Tuple[float, ...] = ()
    near_alibi: bool = False

    def __post_init__(self):
        object.__setattr__(self, "feature_maps", tuple(self.feature_maps))
        object.__setattr__(self, "far_horizons", tuple(float(h) for h in self.far_horizons))
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
        if len(self.far_horizons) > 2 or any(not horizon > 1 for horizon in self.far_horizons):
            raise FMMOptionError(
                "far_horizons", f"expected one or two horizons > 1 (tokens), got {self.far_horizons}"
            )
        if self.near_alibi and not self.has_near:
            raise FMMOptionError("near_alibi", "needs a band (bandwidth >= 1)")
        if self.far_outside_band and not (self.has_near and self.has_far):
            raise FMMOptionError("far_outside_band", "needs both a band (bandwidth >= 1) and a far field (feature maps)")
        for option, value in (("far_outside_band", self.far_outside_band), ("far_horizons", self.far_horizons)):
            if value and not self.causal:
                raise FMMOptionError(option, "is defined for causal attention only (decoders, language models)")
        if self.backend == "triton":
            reason = self.kernels_lack()
            if reason:
                raise FMMOptionError("backend", f"the Triton kernels do not compute {reason} yet")
            from . import triton as kernels

            reason = kernels.triton_unavailable_reason()
            if reason is not None:
                raise FMMOptionError("backend", f"'triton' cannot run here: {reason}")

    @property
    def has_near(self) -> bool:
        return self.bandwidth > 0

    @property
    def has_far(self) -> bool:
        return len(self.feature_maps) > 0

    @property
    def far_skip(self) -> int:
        """The most recent keys the far field does not see: w outside the band, else 0."""
        return self.bandwidth if self.far_outside_band else 0

    def near_slopes(self, heads: int, like: torch.Tensor) -> Optional[torch.Tensor]:
        """(heads,) ALiBi slopes 2^(-8 (h+1) / heads) of the in-band bias; None without it."""
        if not self.near_alibi:
            return None
        exponents = torch.arange(1, heads + 1, dtype=torch.float64) * (-8.0 / heads)
        return (2.0 ** exponents).to(device=like.device, dtype=torch.promote_types(like.dtype, torch.float32))

    def far_decay(self, heads: int, like: torch.Tensor) -> Optional[torch.Tensor]:
        """(heads,) decay rates g_h = 1 - 1/horizon_h of the far field (fp32 at least, on ``like``'s
        device); None without decay."""
        if not self.far_horizons:
            return None
        first, last = self.far_horizons[0], self.far_horizons[-1]
        dtype = torch.promote_types(like.dtype, torch.float32)
        steps = torch.linspace(0.0, 1.0, heads, dtype=torch.float64) if heads > 1 else torch.zeros(1, dtype=torch.float64)
        horizons = first * (last / first) ** steps
        return (1.0 - 1.0 / horizons).to(device=like.device, dtype=dtype)

    def kernels_lack(self) -> str:
        """What of this configuration the Triton kernels do not compute ('' if nothing)."""
        from .triton import KERNEL_FEATURE_MAPS

        lacking = [f"the feature map {name!r}" for name in self.feature_maps if name not in KERNEL_FEATURE_MAPS]
        return ", ".join(lacking)

    def uses_triton(self, q: torch.Tensor) -> bool:
        """Whether ``fmm_attention`` runs the Triton kernels for these inputs."""
        if self.backend == "auto":
            if self.kernels_lack():
                return False  # the torch path computes it
            from . import triton as kernels

            return q.is_cuda and q.dtype in TRITON_DTYPES and kernels.triton_installed()
        return self.backend == "triton"


@dataclass(frozen=True)
class BlendConfig:
    """out = near_weight * near + far_weight * far, the weights learned by ``FMMAttention``.

    granularity:  one weight per 'channel' (heads, 1, head_dim) or per 'head' (heads, 1, 1)
    near_init:    the near weight's start (1: training starts from band + far field; the paper's LM: 0)
    far_init:     the far weight's start (or fixed value)
    learn_far:    learn the far weight too (default: fixed at ``far_init``)
    """

    granularity: str = "channel"
    near_init: float = 1.0
    far_init: float = 1.0
    learn_far: bool = False

    def __post_init__(self):
        if self.granularity not in BLEND_GRANULARITIES:
            raise FMMOptionError(
                "granularity", f"expected one of {', '.join(BLEND_GRANULARITIES)}, got {self.granularity!r}"
            )
