"""Named feature maps phi for the far field (kernelised linear attention).

Every map is non-negative, so phi(q) . sum_j phi(k_j) is a non-negative normaliser. The seed paper's
language-model runs used ``elu`` and ``elu_flip`` together. ``softmax`` (over the head's features)
makes phi(q) . phi(k) large only where q and k peak on the same features: a sharper, recall-friendly
kernel (torch path only: the Triton kernels compute the other maps).
"""
from typing import Callable, Dict, List, Sequence

import torch
import torch.nn.functional as F

FeatureMap = Callable[[torch.Tensor], torch.Tensor]

FEATURE_MAPS: Dict[str, FeatureMap] = {
    "elu": lambda x: F.elu(x) + 1.0,  # elu(x) + 1
    "elu_flip": lambda x: F.elu(-x) + 1.0,  # elu(-x) + 1
    "tanh": lambda x: torch.tanh(x) + 1.0,  # 1 + tanh(x)
    "relu": F.relu,  # max(x, 0)
    "softmax": lambda x: torch.softmax(x, dim=-1),  # exp(x) / sum exp(x) over the features: sharper matches
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


def apply_feature_map(
    feature_map: FeatureMap, x: torch.Tensor, normalize: bool
) -> torch.Tensor:
    """phi(x), optionally rescaled to sum to 1 over the feature (last) dimension.

    The sum-to-one rescaling is the seed's language-model setting ("crucial for stable training").
    """
    features = feature_map(x)
    if normalize:
        features = features / features.sum(dim=-1, keepdim=True).clamp_min(1e-6)
    return features
