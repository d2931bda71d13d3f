"""Named feature maps phi for the far field (kernelised linear attention).

Every map but ``taylor`` is non-negative, so phi(q) . sum_j phi(k_j) is a non-negative normaliser.
The seed paper's language-model runs used ``elu`` and ``elu_flip`` together. ``softmax`` (over the
head's features) makes phi(q) . phi(k) large only where q and k peak on the same features: a
sharper, recall-friendly kernel; with ``softmax_flip`` and a learned projection (``far_feature_dim``)
it is Hedgehog's map [softmax(xW), softmax(-xW)] (here two maps averaged). ``taylor`` (Based) is the
2nd-order Taylor expansion of exp(q.k / sqrt(d)):
  phi(x) = [1, x / d^(1/4), x_i^2 / (sqrt(2) sqrt(d)) for i, x_i x_j / sqrt(d) for i < j],
  phi(q) . phi(k) = 1 + s + s^2 / 2 >= 1/2 with s = q.k / sqrt(d),
1 + d + d(d+1)/2 features (153 for d = 16); its features are signed, so they cannot be rescaled to sum
to 1. The compiled and Triton kernels compute none of softmax, softmax_flip, taylor: the torch path does.
"""
from typing import Callable, Dict, List, Sequence

import torch
import torch.nn.functional as F

FeatureMap = Callable[[torch.Tensor], torch.Tensor]


def taylor(x: torch.Tensor) -> torch.Tensor:
    """(..., d) -> (..., 1 + d + d(d+1)/2): phi(q) . phi(k) = 1 + s + s^2/2, s = q.k / sqrt(d)."""
    dim = x.shape[-1]
    first, second = torch.triu_indices(dim, dim, device=x.device)  # pairs i <= j
    scale = x.new_full(first.shape, dim ** -0.5).masked_fill_(first == second, (2 * dim) ** -0.5)
    return torch.cat([x.new_ones(x.shape[:-1] + (1,)), x * dim ** -0.25, x[..., first] * x[..., second] * scale], dim=-1)


FEATURE_MAPS: Dict[str, FeatureMap] = {
    "elu": lambda x: F.elu(x) + 1.0,  # elu(x) + 1
    "elu_flip": lambda x: F.elu(-x) + 1.0,  # elu(-x) + 1
    "tanh": lambda x: torch.tanh(x) + 1.0,  # 1 + tanh(x)
    "relu": F.relu,  # max(x, 0)
    "softmax": lambda x: torch.softmax(x, dim=-1),  # exp(x) / sum exp(x) over the features: sharper matches
    "softmax_flip": lambda x: torch.softmax(-x, dim=-1),  # softmax(-x): Hedgehog's second half
    "taylor": taylor,  # 1 + s + s^2/2 ~ exp(s): Based
}


def resolve_feature_maps(names: Sequence[str]) -> List[FeatureMap]:
    """Map names to functions; an unknown name raises ValueError listing the known ones."""
    unknown = [name for name in names if name not in FEATURE_MAPS]
    if unknown:
        raise ValueError(
            f"unknown feature map(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(sorted(FEATURE_MAPS))}"
        )
    return [FEATURE_MAPS[name] for name in names]


def feature_count(feature_maps: Sequence[FeatureMap], dim: int) -> int:
    """F, the features every map gives for inputs of ``dim``: 1 + d + d(d+1)/2 for ``taylor``, d for
    the others; maps of different counts cannot be averaged in one far field (ValueError)."""
    counts = {1 + dim + dim * (dim + 1) // 2 if feature_map is taylor else dim for feature_map in feature_maps}
    if len(counts) > 1:
        raise ValueError("'taylor' (1 + d + d(d+1)/2 features) cannot be mixed with maps of d features in one far field")
    return counts.pop() if counts else dim


def apply_feature_map(
    feature_map: FeatureMap, x: torch.Tensor, normalize: bool
) -> torch.Tensor:
    """phi(x), optionally rescaled to sum to 1 over the feature (last) dimension.

    The sum-to-one rescaling is the seed's language-model setting ("crucial for stable training");
    it is refused for ``taylor``, whose features are signed (ValueError).
    """
    if normalize and feature_map is taylor:
        raise ValueError("'taylor' has signed features: they cannot be rescaled to sum to 1 (normalize off)")
    features = feature_map(x)
    if normalize:
        features = features / features.sum(dim=-1, keepdim=True).clamp_min(1e-6)
    return features
