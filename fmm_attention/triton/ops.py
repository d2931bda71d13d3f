"""Autograd Functions over the Triton kernels, with the signatures of the pure-torch path.

``band_attention``, ``linear_attention`` and ``fmm_attention`` take and return what their
namesakes in ``near.py``, ``far.py`` and ``fmm.py`` do; ``chunk_size`` becomes the kernels'
tile size (see ``tile_size``). All three run one autograd Function,
``FMMAttentionFunction``, whose kernels are specialised at compile time to the near field only,
the far field only, or both fused, with or without the in-band bias and the far field's decay.
A far field outside the band (keys j <= i - w) is the far-field kernel on keys and values moved
w positions later (``far.shifted_keys``), beside the near-field kernel on the unmoved ones.
"""
import functools
from dataclasses import dataclass, replace
from typing import Optional, Tuple

import torch

from ..chunking import band_reach, check_bandwidth, check_chunk_size
from ..config import DEFAULT_EPS, head_constants
from ..far import shifted_keys
from ..feature_maps import FEATURE_MAPS, FeatureMap, apply_feature_map
from .runtime import triton
from .kernels import ELU, ELU_FLIP, IDENTITY, RELU, TANH, fmm_bwd_key, fmm_bwd_query, fmm_fwd, fmm_states

MAP_CODES = {"elu": ELU.value, "elu_flip": ELU_FLIP.value, "tanh": TANH.value, "relu": RELU.value}
SUPPORTED_DTYPES = (torch.float16, torch.bfloat16, torch.float32)


@dataclass(frozen=True)
class KernelSpec:
    """What the kernels compute, beyond the tensors."""

    bandwidth: int  # 0: no near field
    causal: bool
    maps: Tuple[int, ...]  # feature-map codes; empty: no far field
    normalize: bool
    eps: float
    scale: float
    dropout_p: float
    tile: int
    out_dtype: torch.dtype

    @property
    def packed_maps(self) -> int:
        return sum(code << (4 * index) for index, code in enumerate(self.maps))


MAX_TILE_ELEMENTS = 4096  # tile rows x padded head size: keeps the fused backward within 163 KiB of shared memory


def block_size(dim: int) -> int:
    """A head size padded to a power of two, at least 16 (tl.dot's minimum)."""
    return max(16, triton.next_power_of_2(dim))


def tile_size(chunk_size: int, head_dim: int, value_dim: int) -> int:
    """The kernels' tile: chunk_size rounded up to a power of two, within [16, 128], and at most
    MAX_TILE_ELEMENTS / padded head size (32 rows for head size 128: the fused backward kernels
    then need 144 KiB of shared memory on sm_90, 64 rows would need 256 KiB, over the 227 KiB limit).
    """
    cap = MAX_TILE_ELEMENTS // max(block_size(head_dim), block_size(value_dim))
    return max(16, min(128, cap, triton.next_power_of_2(chunk_size)))


def launch_options(tile: int, head_dim: int, value_dim: int) -> dict:
    """Tile, block sizes and warps of every kernel launch; a starting point for tuning on a GPU (docs/kernels.md)."""
    return dict(T=tile, BLOCK_D=block_size(head_dim), BLOCK_DV=block_size(value_dim), num_warps=4)


def _precision(dtype: torch.dtype) -> str:
    """fp32 inputs keep fp32 products; half inputs let fp32 products (features, states) use tf32."""
    return "ieee" if dtype == torch.float32 else "tf32"


def _decayed_cumsum_(x: torch.Tensor, per_slot: torch.Tensor) -> torch.Tensor:
    """In place along axis 2 of (batch, heads, slots, ...): x_u <- x_u + G x_{u-1} + G^2 x_{u-2} + ...,
    G = per_slot (heads,); log2(slots) doubling steps (Hillis-Steele)."""
    factor = per_slot.view(1, -1, *([1] * (x.dim() - 2)))
    step = 1
    while step < x.shape[2]:
        x[:, :, step:] = x[:, :, step:] + factor * x[:, :, :-step]  # the right side is read before the write
        factor, step = factor * factor, 2 * step
    return x


def _long_context_args(slopes, log2_decay, fallback):
    """The kernels' SLOPES and DECAY pointers (``fallback`` where an option is off) and their flags."""
    pointers = (slopes if slopes is not None else fallback, log2_decay if log2_decay is not None else fallback)
    return pointers, dict(HAS_ALIBI=slopes is not None, HAS_DECAY=log2_decay is not None)


def _far_states(x, y, padding, spec, options, reverse=False, weights=None, row_scale=None, row_extra=None, log2_decay=None):
    """Prefix (causal), suffix (``reverse``) or total (bidirectional) fp32 sums per tile and map;
    with a decay (causal, ``log2_decay``: log2 g per head) each tile's sum decays by g^T per tile crossed.

    Returns (S, z, num_slots, slot_step, slot_offset): the state tile t reads is slot
    t * slot_step + slot_offset of S (batch, heads, num_slots, maps, D, Dv) and z (..., D).
    """
    batch, heads, length, head_dim = x.shape
    value_dim = y.shape[-1]
    tiles = triton.cdiv(length, spec.tile)
    maps = len(spec.maps)
    if not spec.causal:  # every tile's sums, then their total
        first, count, write_step, write_offset = 0, tiles, 1, 0
    elif reverse:  # tile t -> slot tiles - t, so that an in-place cumsum gives slot u = sum over tiles >= tiles - u
        first, count, write_step, write_offset = 1, tiles - 1, -1, tiles
    else:  # tile t -> slot t + 1: the cumsum at slot t covers tiles < t
        first, count, write_step, write_offset = 0, tiles - 1, 1, 1
    alloc = torch.empty if not spec.causal else torch.zeros
    s = alloc(batch, heads, tiles, maps, head_dim, value_dim, dtype=torch.float32, device=x.device)
    z = alloc(batch, heads, tiles, maps, head_dim, dtype=torch.float32, device=x.device)
    if count > 0:
        pad = padding if padding is not None else x
        weighted = weights is not None
        fmm_states[(count, batch * heads)](
            x, y, pad, weights if weighted else x, row_scale if weighted else x, row_extra if weighted else x,
            log2_decay if log2_decay is not None else x, s, z,
            *x.stride(), *y.stride(), pad.stride(0),
            heads, length, head_dim, value_dim, first, write_step, write_offset, tiles,
            MAPS=spec.packed_maps, NUM_MAPS=maps, NORMALIZE=spec.normalize, HAS_PADDING=padding is not None,
            WEIGHTED=weighted, HAS_DECAY=log2_decay is not None, PRECISION=_precision(x.dtype), **options,
        )
    if not spec.causal:
        return s.sum(2, keepdim=True), z.sum(2, keepdim=True), 1, 0, 0
    if log2_decay is None:
        s.cumsum_(2)
        z.cumsum_(2)
    else:
        per_tile = torch.exp2(log2_decay * spec.tile)
        _decayed_cumsum_(s, per_tile)
        _decayed_cumsum_(z, per_tile)
    return (s, z, tiles, -1, tiles - 1) if reverse else (s, z, tiles, 1, 0)


class FMMAttentionFunction(torch.autograd.Function):
    """near_weight * band softmax attention + far_weight * sum_l linear attention (phi_l), fused.

    q, k: (batch, heads, N, D); v: (batch, heads, N, Dv); near_weight, far_weight: fp32 (heads, Dv)
    or None when that field is off (far_weight already divided by the number of maps);
    padding: (batch, N) uint8, 1 for padded keys, or None; slopes: fp32 (heads,) of the in-band
    bias -m_h |i - j|, or None; log2_decay: fp32 (heads,) log2 of the far field's decay g_h, or None.
    """

    @staticmethod
    def forward(ctx, q, k, v, near_weight, far_weight, padding, slopes, log2_decay, spec: KernelSpec):
        batch, heads, length, head_dim = q.shape
        value_dim = v.shape[-1]
        has_near, has_far = spec.bandwidth > 0, len(spec.maps) > 0
        options = launch_options(spec.tile, head_dim, value_dim)
        seed = int(torch.randint(0, 2**30, (1,)).item()) if spec.dropout_p > 0 else 0
        (slopes_ptr, decay_ptr), long_context = _long_context_args(slopes, log2_decay, q)
        if has_far:
            s, z, num_slots, step, offset = _far_states(k, v, padding, spec, options, log2_decay=log2_decay)
        else:
            s = z = q
            num_slots, step, offset = 1, 0, 0
        out = torch.empty(batch, heads, length, value_dim, dtype=spec.out_dtype, device=q.device)
        grads = any(ctx.needs_input_grad[:5])
        store_near = has_near and grads
        store_far = has_far and ctx.needs_input_grad[4]
        near = torch.empty_like(out) if store_near else out
        far = torch.empty_like(out) if store_far else out
        lse = torch.empty(batch, heads, length, dtype=torch.float32, device=q.device) if has_near else out
        pad = padding if padding is not None else q
        left, right = band_reach(spec.bandwidth, spec.causal)
        tiles = triton.cdiv(length, spec.tile)
        fmm_fwd[(tiles, batch * heads)](
            q, k, v, pad, near_weight if has_near else q, far_weight if has_far else q, slopes_ptr, decay_ptr,
            s, z, out, near, far, lse,
            *q.stride(), *k.stride(), *v.stride(), *out.stride(), pad.stride(0),
            heads, length, head_dim, value_dim, left, right, spec.scale, spec.eps, step, offset, num_slots,
            seed, spec.dropout_p,
            HAS_NEAR=has_near, HAS_FAR=has_far, CAUSAL=spec.causal, MAPS=spec.packed_maps, NUM_MAPS=len(spec.maps),
            NORMALIZE=spec.normalize, HAS_PADDING=padding is not None, HAS_DROPOUT=spec.dropout_p > 0,
            STORE_NEAR=store_near, STORE_FAR=store_far, PRECISION=_precision(q.dtype), **long_context, **options,
        )
        if grads:
            ctx.save_for_backward(q, k, v, near_weight, far_weight, padding, slopes, log2_decay, s, z,
                                  lse if has_near else None, near if store_near else None, far if store_far else None)
            ctx.spec, ctx.seed, ctx.state_layout = spec, seed, (num_slots, step, offset)
        return out

    @staticmethod
    def backward(ctx, dout):
        q, k, v, near_weight, far_weight, padding, slopes, log2_decay, s, z, lse, near, far = ctx.saved_tensors
        spec = ctx.spec
        batch, heads, length, head_dim = q.shape
        value_dim = v.shape[-1]
        has_near, has_far = spec.bandwidth > 0, len(spec.maps) > 0
        maps = len(spec.maps)
        options = launch_options(spec.tile, head_dim, value_dim)
        tiles = triton.cdiv(length, spec.tile)
        pad = padding if padding is not None else q
        left, right = band_reach(spec.bandwidth, spec.causal)
        num_slots, step, offset = ctx.state_layout
        (slopes_ptr, decay_ptr), long_context = _long_context_args(slopes, log2_decay, q)
        flags = dict(
            HAS_NEAR=has_near, HAS_FAR=has_far, CAUSAL=spec.causal, MAPS=spec.packed_maps, NUM_MAPS=maps,
            NORMALIZE=spec.normalize, HAS_PADDING=padding is not None, HAS_DROPOUT=spec.dropout_p > 0,
            PRECISION=_precision(q.dtype), **long_context, **options,
        )
        def per_row(count):
            return torch.empty(batch, heads, count, length, dtype=torch.float32, device=q.device)

        delta = per_row(1) if has_near else q
        inv_den, c_den = (per_row(maps), per_row(maps)) if has_far else (q, q)
        dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
        near_w = near_weight if has_near else q
        far_w = far_weight if has_far else q
        fmm_bwd_query[(tiles, batch * heads)](
            q, k, v, pad, near_w, far_w, slopes_ptr, decay_ptr, s, z, dout, near if has_near else q, lse if has_near else q,
            delta, inv_den, c_den, dq,
            *q.stride(), *k.stride(), *v.stride(), *dout.stride(),
            *(near.stride() if has_near else dout.stride()), *dq.stride(), pad.stride(0),
            heads, length, head_dim, value_dim, left, right, spec.scale, spec.eps, step, offset, num_slots,
            ctx.seed, spec.dropout_p, **flags,
        )
        if has_far:
            r, rz, num_slots, step, offset = _far_states(
                q, dout, None, spec, options, reverse=True, weights=far_weight, row_scale=inv_den, row_extra=c_den,
                log2_decay=log2_decay,
            )
        else:
            r = rz = q
        fmm_bwd_key[(tiles, batch * heads)](
            q, k, v, pad, near_w, far_w, slopes_ptr, decay_ptr, r, rz, dout, lse if has_near else q, delta, inv_den, c_den, dk, dv,
            *q.stride(), *k.stride(), *v.stride(), *dout.stride(), *dk.stride(), *dv.stride(), pad.stride(0),
            heads, length, head_dim, value_dim, left, right, spec.scale, step, offset, num_slots,
            ctx.seed, spec.dropout_p, **flags,
        )
        d_near_w = d_far_w = None
        if ctx.needs_input_grad[3]:
            d_near_w = (dout.float() * near.float()).sum(dim=(0, 2))
        if ctx.needs_input_grad[4]:
            d_far_w = (dout.float() * far.float()).sum(dim=(0, 2))
        return dq, dk, dv, d_near_w, d_far_w, None, None, None, None


def _check_inputs(q, k, v):
    if not (q.dtype == k.dtype == v.dtype) or q.dtype not in SUPPORTED_DTYPES:
        raise TypeError(f"Triton FMM kernels take fp16, bf16 or fp32 q, k, v of one dtype; got {q.dtype}, {k.dtype}, {v.dtype}")
    if q.shape != k.shape or q.shape[:3] != v.shape[:3]:
        raise ValueError(f"q, k must be (batch, heads, N, D) and v (batch, heads, N, Dv); got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")


def _padding(key_padding_mask: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    return None if key_padding_mask is None else key_padding_mask.to(torch.uint8).contiguous()


def _per_head_channel(weight: torch.Tensor, heads: int, value_dim: int) -> torch.Tensor:
    """A blend weight broadcastable to (batch, heads, N, Dv) without batch/position axes, as fp32 (heads, Dv)."""
    try:
        return weight.float().expand(heads, 1, value_dim).reshape(heads, value_dim).contiguous()
    except RuntimeError:
        raise ValueError(
            f"blend weights must broadcast to (heads, 1, value_dim) = {(heads, 1, value_dim)}; got {tuple(weight.shape)}"
        ) from None


def _map_code(feature_map: FeatureMap) -> Optional[int]:
    """The kernels' code of a named map they compute; None: applied in torch before the kernel."""
    for name, function in FEATURE_MAPS.items():
        if function is feature_map:
            return MAP_CODES.get(name)
    return None


def _log2_decay(decay: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    """log2 of the far field's per-head rates g in (0, 1], as fp32 (heads,); None without decay (g = 1:
    the kernels specialised without it)."""
    return None if decay is None or bool((decay == 1).all()) else torch.log2(decay.float()).contiguous()


def _slopes(slopes: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    return None if slopes is None else slopes.float().contiguous()


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
    slopes: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Banded softmax attention (``near.band_attention``) by the near-field Triton kernel."""
    check_bandwidth(bandwidth)
    check_chunk_size(chunk_size)
    _check_inputs(q, k, v)
    heads, value_dim = q.shape[1], v.shape[-1]
    spec = KernelSpec(
        bandwidth=bandwidth, causal=causal, maps=(), normalize=False, eps=DEFAULT_EPS,
        scale=q.shape[-1] ** -0.5 if scale is None else scale, dropout_p=dropout_p,
        tile=tile_size(chunk_size, q.shape[-1], value_dim), out_dtype=v.dtype,
    )
    ones = torch.ones(heads, value_dim, dtype=torch.float32, device=q.device)
    return FMMAttentionFunction.apply(q, k, v, ones, None, _padding(key_padding_mask), _slopes(slopes), None, spec)


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
    decay: Optional[torch.Tensor] = None,
    skip: int = 0,
) -> torch.Tensor:
    """Linear attention with one feature map (``far.linear_attention``) by the far-field kernel.

    The named maps of ``FEATURE_MAPS`` run inside the kernels; any other callable is applied in
    torch just before them (its features in fp32, the sum-to-one rescaling inside the kernels).
    """
    check_chunk_size(chunk_size)
    if not causal and (decay is not None or skip):
        raise ValueError("a decay and skipped keys are defined for causal linear attention only")
    _check_inputs(q, k, v)
    code = _map_code(feature_map)
    if code is None:
        code = IDENTITY.value
        q = apply_feature_map(feature_map, q.float(), normalize=False)
        k = apply_feature_map(feature_map, k.float(), normalize=False)
    if skip:
        k, v, key_padding_mask = shifted_keys(k, v, key_padding_mask, skip)
    heads, value_dim = q.shape[1], v.shape[-1]
    spec = KernelSpec(
        bandwidth=0, causal=causal, maps=(code,), normalize=normalize_features, eps=eps,
        scale=1.0, dropout_p=0.0, tile=tile_size(chunk_size, q.shape[-1], value_dim), out_dtype=v.dtype,
    )
    ones = torch.ones(heads, value_dim, dtype=torch.float32, device=q.device)
    return FMMAttentionFunction.apply(q, k, v, None, ones, _padding(key_padding_mask), None, _log2_decay(decay), spec)


def fmm_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    config,
    near_weight: Optional[torch.Tensor],
    far_weight: Optional[torch.Tensor],
    key_padding_mask: Optional[torch.Tensor] = None,
    dropout_p: float = 0.0,
    slopes: Optional[torch.Tensor] = None,
    decay: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """FMM attention of whole sequences (``fmm.fmm_attention``, ``slopes`` and ``decay`` its head
    constants) by the fused kernel: near, far and blend in one pass (a far field outside the band:
    the near-field kernel, then the far-field kernel on moved keys)."""
    _check_inputs(q, k, v)
    heads, value_dim = q.shape[1], v.shape[-1]
    maps = tuple(MAP_CODES[name] for name in config.feature_maps)
    dtypes = [v.dtype]
    near_w = far_w = None
    if config.has_near:
        near_w = _per_head_channel(near_weight, heads, value_dim)
        dtypes.append(near_weight.dtype)
    if config.has_far:
        far_w = _per_head_channel(far_weight, heads, value_dim) / len(maps)
        dtypes.append(far_weight.dtype)
    spec = KernelSpec(
        bandwidth=config.bandwidth, causal=config.causal, maps=maps, normalize=config.normalize_features,
        eps=config.eps, scale=q.shape[-1] ** -0.5, dropout_p=dropout_p if config.has_near else 0.0,
        tile=tile_size(config.chunk_size, q.shape[-1], value_dim), out_dtype=functools.reduce(torch.promote_types, dtypes),
    )
    if slopes is None and decay is None:
        slopes, decay = head_constants(config, heads, q)
    slopes, log2_decay = _slopes(slopes), _log2_decay(decay)
    padding = _padding(key_padding_mask)
    if not config.far_outside_band:
        return FMMAttentionFunction.apply(q, k, v, near_w, far_w, padding, slopes, log2_decay, spec)
    near = FMMAttentionFunction.apply(q, k, v, near_w, None, padding, slopes, None, replace(spec, maps=()))
    far_k, far_v, far_padding = shifted_keys(k, v, key_padding_mask, config.far_skip)
    far = FMMAttentionFunction.apply(q, far_k, far_v, None, far_w, _padding(far_padding), None, log2_decay,
                                     replace(spec, bandwidth=0, dropout_p=0.0))
    return near + far


__all__ = ["FMMAttentionFunction", "KernelSpec", "band_attention", "fmm_attention", "linear_attention", "tile_size"]
