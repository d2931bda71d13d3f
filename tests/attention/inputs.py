"""Random inputs shared by the math tests (float64 unless asked)."""
import torch


def qkv(length, batch=2, heads=3, head_dim=8, dtype=torch.float64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, heads, length, head_dim, generator=generator, dtype=dtype) for _ in range(3)]


def ragged_padding(batch, length):
    """Batch row 0: left padding; row 1: right padding (and fully padded when length <= 3)."""
    padding = torch.zeros(batch, length, dtype=torch.bool)
    padding[0, : length // 4] = True
    padding[1, length - max(3, length // 3):] = True
    return padding


def blend_weights(heads, head_dim, per_channel, seed=1):
    generator = torch.Generator().manual_seed(seed)
    shape = (heads, 1, head_dim) if per_channel else (heads, 1, 1)
    return torch.randn(shape, generator=generator, dtype=torch.float64), torch.randn(shape, generator=generator, dtype=torch.float64)


def far_projection(config, heads=3, head_dim=8, seed=2):
    """A random far-field projection W (heads, head_dim, far_feature_dim) when the config projects, else None."""
    if not config.far_feature_dim:
        return None
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(heads, head_dim, config.far_feature_dim, generator=generator, dtype=torch.float64) * head_dim ** -0.5
