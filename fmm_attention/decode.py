"""Token-by-token causal decoding with a bounded state: the near field's ring and the far field's sums.

Per layer and head the state holds
  * the band's last w-1 keys and values (``prev_key``, ``prev_value``);
  * for the far field, whichever is smaller: while few tokens were seen, every value and key feature
    phi_l(k) (``prev_value`` then holds them all, ``prev_key_features``; the far field is summed over
    them at each step, as softmax attention's cache is); from ``far_sums_from`` tokens on, per map the
    sums ``far_state`` = [S | z] = [sum_j phi(k_j) v_j^T | sum_j phi(k_j)]: O(w + r * d^2) numbers
    however many steps follow. A far field with a decay (S = g S + phi(k) v^T) or outside the band
    (the keys leaving the band's ring join the sums) keeps the sums from the first token;
  * ``prev_key_padding_mask``: which kept tokens were padding (joins the state at the first padded step).
The state is a dict of tensors with the batch first, so beam search reorders it with ``index_select``.
Stepping through a sequence equals ``fmm_attention`` on the whole of it.
Tensors are (batch, heads, length, head_dim); padding masks (batch, length), True = padded.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch

from .config import DEFAULT_EPS, FMMConfig
from .far import accumulation_dtype, stacked_features
from .feature_maps import FeatureMap, resolve_feature_maps
from .near import masked_softmax_average

DecodeState = Dict[str, torch.Tensor]


def empty_decode_state(config: FMMConfig, batch: int, heads: int, head_dim: int, value_dim: int, like: torch.Tensor) -> DecodeState:
    """The state before the first token: no keys yet. ``like`` gives the device and dtype."""
    state = {
        "prev_key": like.new_zeros(batch, heads, 0, head_dim),
        "prev_value": like.new_zeros(batch, heads, 0, value_dim),
    }
    if config.has_far:
        maps, dtype = len(config.feature_maps), accumulation_dtype(like.dtype)
        if _sums_from_the_start(config):
            state["far_state"] = torch.zeros(batch, heads, maps, head_dim, value_dim + 1, dtype=dtype, device=like.device)
        else:
            state["prev_key_features"] = torch.zeros(batch, heads, maps, 0, head_dim, dtype=dtype, device=like.device)
    return state


def _sums_from_the_start(config: FMMConfig) -> bool:
    """Whether the far field keeps only its sums: with a decay or outside the band."""
    return config.far_outside_band or bool(config.far_horizons)


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
    state: DecodeState,
    config: FMMConfig,
    near_weight: Optional[torch.Tensor],
    far_weight: Optional[torch.Tensor],
    key_padding_mask: Optional[torch.Tensor] = None,
) -> Tuple[torch.Tensor, DecodeState]:
    """One causal decoding step: q, k, v of one token, (batch, heads, 1, head_dim), and the state
    before it; returns near_weight * near + far_weight * far for that token and the state after it.
    ``key_padding_mask``: (batch, 1), True where this token is padding."""
    if not config.causal:
        raise ValueError("incremental decoding needs a causal FMM layer")
    past = state["prev_value"].shape[2]
    keys = torch.cat([state["prev_key"], k], dim=2)  # the last w at most
    values = torch.cat([state["prev_value"], v], dim=2)  # all of them while the far field keeps them
    padding = _kept_padding(state.get("prev_key_padding_mask"), key_padding_mask, q.shape[0], past)
    new_state: DecodeState = {}
    band_keep = keep = max(config.bandwidth - 1, 0)
    out = None
    if config.has_near:
        out = near_weight * band_step(q, keys, values, padding, config.bandwidth, slopes=config.near_slopes(q.shape[1], q))
    if config.has_far:
        feature_maps = resolve_feature_maps(config.feature_maps)
        decay = config.far_decay(q.shape[1], q)
        if config.far_outside_band:
            leaving = past + 1 >= config.bandwidth  # the window's oldest key leaves the band after this step
            far, new_state["far_state"] = far_step_outside_band(
                q, state["far_state"], keys[:, :, :1] if leaving else None, values[:, :, :1] if leaving else None,
                feature_maps, None if padding is None or not leaving else padding[:, :1], config.normalize_features,
                config.eps, decay,
            )
        elif "far_state" in state:
            far, new_state["far_state"] = far_step_from_sums(
                q, k, v, state["far_state"], feature_maps, key_padding_mask, config.normalize_features, config.eps, decay
            )
        else:
            to_sums = past + 1 >= far_sums_from(config, q.shape[-1], v.shape[-1])
            far, features, sums = far_step_from_features(
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


def band_step(
    q: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    padding: Optional[torch.Tensor],
    bandwidth: int,
    scale: Optional[float] = None,
    slopes: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """The near field of one step: the query attends to the last ``bandwidth`` of ``keys`` (its own
    key last). q: (batch, heads, 1, d); keys/values: (batch, heads, m, d); padding: (batch, m) bool,
    or None when no key is padded (then it is a plain softmax); slopes: (heads,) relative bias."""
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    keys, values = keys[:, :, -bandwidth:], values[:, :, -bandwidth:]
    scores = (q * scale) @ keys.transpose(-1, -2)  # b h 1 w
    if slopes is not None:
        distance = torch.arange(keys.shape[2] - 1, -1, -1, device=q.device, dtype=scores.dtype)  # the own key last
        scores = scores - slopes.to(scores.dtype).view(1, -1, 1, 1) * distance
    if padding is None:
        weights = torch.softmax(scores, dim=-1, dtype=torch.promote_types(scores.dtype, torch.float32))
        return weights.to(values.dtype) @ values
    return masked_softmax_average(scores, ~padding[:, None, None, -bandwidth:], values)


def far_step_from_sums(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    sums: torch.Tensor,
    feature_maps: Sequence[FeatureMap],
    key_padding_mask: Optional[torch.Tensor] = None,
    normalize_features: bool = True,
    eps: float = DEFAULT_EPS,
    decay: Optional[torch.Tensor] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """The far field of one step from the running sums [S | z], (batch, heads, maps, d, dv + 1) in
    ``accumulation_dtype``: one product phi(q) [S | z] gives numerator and normaliser. Returns the
    mean over maps of phi(q).S / (phi(q).z + eps) and the sums with the new key added (after
    multiplying them by the per-head ``decay``, (heads,), if any)."""
    phi_q, phi_k = stacked_features(feature_maps, q, k, key_padding_mask, normalize_features)  # b h r 1 d
    sums = _added(sums, phi_k, v, decay)
    return _read(phi_q, sums, eps, v.dtype), sums


def far_step_outside_band(
    q: torch.Tensor,
    sums: torch.Tensor,
    leaving_k: Optional[torch.Tensor],
    leaving_v: Optional[torch.Tensor],
    feature_maps: Sequence[FeatureMap],
    leaving_padding: Optional[torch.Tensor] = None,
    normalize_features: bool = True,
    eps: float = DEFAULT_EPS,
    decay: Optional[torch.Tensor] = None,
) -> Tuple[torch.Tensor, torch.Tensor]:
    """The far field outside the band of one step: the query reads the sums of the keys j <= i - w;
    then the key leaving the band (``leaving_k``/``v``, (batch, heads, 1, d), None while the band is
    not full) joins them, for the next step. Returns the output and the new sums."""
    no_key = q[:, :, :0] if leaving_k is None else leaving_k
    phi_q, phi_k = stacked_features(feature_maps, q, no_key, leaving_padding, normalize_features)
    out = _read(phi_q, sums, eps, q.dtype)
    if leaving_k is not None:
        sums = _added(sums, phi_k, leaving_v, decay)
    return out, sums


def _added(sums: torch.Tensor, phi_k: torch.Tensor, v: torch.Tensor, decay: Optional[torch.Tensor]) -> torch.Tensor:
    """decay * [S | z] + phi(k) [v | 1] for one key; phi_k: (batch, heads, maps, 1, d)."""
    values = v.to(sums.dtype)
    with_ones = torch.cat([values, torch.ones_like(values[..., :1])], dim=-1)[:, :, None]  # b h 1 1 dv+1
    if decay is not None:
        sums = sums * decay.to(sums.dtype).view(1, -1, 1, 1, 1)
    return torch.addcmul(sums, phi_k.transpose(-1, -2), with_ones)


def _read(phi_q: torch.Tensor, sums: torch.Tensor, eps: float, dtype: torch.dtype) -> torch.Tensor:
    """The mean over maps of phi(q).S / (phi(q).z + eps); phi_q: (batch, heads, maps, 1, d)."""
    both = phi_q @ sums
    return (both[..., :-1] / (both[..., -1:] + eps)).mean(dim=2).to(dtype)


def far_step_from_features(
    q: torch.Tensor,
    k: torch.Tensor,
    past_features: torch.Tensor,
    values: torch.Tensor,
    feature_maps: Sequence[FeatureMap],
    key_padding_mask: Optional[torch.Tensor] = None,
    normalize_features: bool = True,
    eps: float = DEFAULT_EPS,
    return_sums: bool = False,
) -> Tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
    """The far field of one step from the kept key features and values: the mean over maps of
    sum_j (phi(q).phi(k_j)) v_j / (sum_j phi(q).phi(k_j) + eps), O(m d) per map for m keys, cheaper
    than the sums while m is small. With ``return_sums`` also the sums [S | z].

    past_features: phi of the earlier keys, (batch, heads, maps, m, d) in ``accumulation_dtype`` (0
    where padded); values: (batch, heads, m + 1, dv), the new one last. Returns the output, the
    features with the new key's appended, and the sums or None.
    """
    phi_q, phi_k = stacked_features(feature_maps, q, k, key_padding_mask, normalize_features)  # b h r 1 d
    features = torch.cat([past_features, phi_k], dim=-2)  # b h r m+1 d
    kept_values = values.to(features.dtype)
    scores = (phi_q @ features.transpose(-1, -2)).squeeze(-2)  # b h r m+1: the maps as rows, values not copied per map
    out = (scores @ kept_values) / (scores.sum(dim=-1, keepdim=True) + eps)  # b h r dv
    sums = None
    if return_sums:
        s_part = features.transpose(-1, -2) @ kept_values[:, :, None]  # b h r d dv
        sums = torch.cat([s_part, features.sum(dim=-2)[..., None]], dim=-1)
    return out.mean(dim=2, keepdim=True).to(values.dtype), features, sums


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
