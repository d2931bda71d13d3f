"""FMM attention: near field (banded softmax) blended with far field (linear attention).

  out = near_weight * near + far_weight * (1/r) sum_l far_l

near = ``near.band_attention`` with bandwidth w, far_l = ``far.mean_linear_attention``'s linear
attention with feature map phi_l. ``near_weight`` and ``far_weight`` broadcast against (batch,
heads, length, head_dim): (heads, 1, 1) for one weight per head, (heads, 1, head_dim) per channel.
The seed paper's language model: near weight per channel, learned, from 0; far weight fixed at 1;
maps (elu, elu_flip). w = 0 switches the near field off, no feature maps the far field.

**State.** Causal attention continues from the tokens before: its state (``FMMState``, a dict of
tensors with the batch first, so that beam search reorders it with ``index_select``) holds
  * ``prev_key``, ``prev_value``: the latest ``config.kept_keys`` keys and values as they are (the
    band's w-1, or the w that the far field outside the band has not summed yet), (batch, heads, P, d);
  * ``prev_key_padding_mask``: (batch, P), which of them were padding, once a token was;
  * ``far_state``: the far field's [S | z] per map over every older key, (batch, heads, maps, F, dv + 1)
    with F the maps' features (``FMMConfig.far_features``: d, or of d' = ``far_feature_dim``):
O(w + r * F * d) numbers however many tokens came before. ``fmm_attention`` with ``initial_state`` /
``output_final_state`` takes and returns it by chunks (a prompt is one call, at the forward's cost);
``fmm_attention_step`` is the recurrent form for one token; both give what the whole sequence gives.

**Far projection.** With ``config.far_feature_dim`` = d' > 0 the far field attends with its own
queries and keys q W_h, k W_h, ``far_projection`` W (heads, head_dim, d') (``FMMAttention`` learns it);
the band keeps q, k, and the state keeps the keys as they are (projected when the far field sums them).

**Backend.** ``config.backend`` picks who computes it: ``torch`` (this package's pure-torch math, any
device), ``compiled`` (the band and the causal far field by the C++ CPU kernels of ``compiled``), ``triton``
(the fused GPU kernels of ``fmm_attention.triton``, whole sequences; states by torch) or ``auto``
(Triton for CUDA tensors of fp16/bf16/fp32 when Triton is installed and computes the config, the
compiled kernels for CPU tensors when built, torch otherwise).
"""
from typing import Dict, List, Optional, Tuple

import torch

from . import compiled
from .config import FMMConfig, FMMOptionError, head_constants
from .far import empty_far_state, far_step, mean_linear_attention
from .feature_maps import resolve_feature_maps
from .near import band_attention, band_step

FMMState = Dict[str, torch.Tensor]
TRITON_DTYPES = (torch.float16, torch.bfloat16, torch.float32)


def _maps_lacking(config: FMMConfig, computed) -> List[str]:
    return [f"the feature map {name!r}" for name in config.feature_maps if name not in computed]


def kernels_lack(config: FMMConfig) -> str:
    """What of ``config`` the Triton kernels do not compute ('' if nothing)."""
    from .triton import KERNEL_FEATURE_MAPS

    projection = ["a far-field projection (far_feature_dim)"] if config.far_feature_dim else []
    return ", ".join(_maps_lacking(config, KERNEL_FEATURE_MAPS) + projection)


def compiled_lacks(config: FMMConfig) -> str:
    """What of ``config``'s far field the compiled CPU kernels do not compute ('' if nothing): torch computes it."""
    return ", ".join(_maps_lacking(config, compiled.MAP_CODES))


def check_backend(config: FMMConfig) -> None:
    """Raises FMMOptionError('backend') when ``config`` asks for kernels that cannot compute it here:
    Triton (a map or projection it lacks, no Triton, no GPU) or the compiled CPU kernels (not built, a
    map they lack: 'auto' runs the compiled band with that far field in torch)."""
    if config.backend == "compiled" and compiled.unavailable_reason():
        raise FMMOptionError("backend", f"'compiled' cannot run here: {compiled.unavailable_reason()}")
    if config.backend == "compiled" and compiled_lacks(config):
        raise FMMOptionError("backend", f"the compiled kernels do not compute {compiled_lacks(config)}: use 'auto' "
                                        "(the compiled band, that far field in torch) or 'torch'")
    if config.backend != "triton":
        return
    reason = kernels_lack(config)
    if reason:
        raise FMMOptionError("backend", f"the Triton kernels do not compute {reason} yet")
    from . import triton as kernels

    reason = kernels.triton_unavailable_reason()
    if reason is not None:
        raise FMMOptionError("backend", f"'triton' cannot run here: {reason}")


def uses_triton(config: FMMConfig, q: torch.Tensor) -> bool:
    """Whether ``fmm_attention`` runs the Triton kernels for these inputs (whole sequences, no state);
    'triton' asked for what they cannot compute raises FMMOptionError('backend')."""
    if config.backend == "triton":
        check_backend(config)
    if config.backend == "auto":
        if kernels_lack(config):
            return False  # the torch path computes it
        from . import triton as kernels

        return q.is_cuda and q.dtype in TRITON_DTYPES and kernels.triton_installed()
    return config.backend == "triton"


def uses_compiled(config: FMMConfig, q: torch.Tensor) -> bool:
    """Whether the compiled CPU kernels compute the band for these inputs."""
    return config.backend in ("auto", "compiled") and compiled.runs(q)


def empty_state(config: FMMConfig, batch: int, heads: int, head_dim: int, value_dim: int, like: torch.Tensor) -> FMMState:
    """The state before the first token: no keys yet. ``like`` gives the device and dtype; the far
    state has ``config.far_features(head_dim)`` features per map."""
    state = {
        "prev_key": like.new_zeros(batch, heads, 0, head_dim),
        "prev_value": like.new_zeros(batch, heads, 0, value_dim),
    }
    if config.has_far:
        maps, features = len(config.feature_maps), config.far_features(head_dim)
        state["far_state"] = empty_far_state(batch, heads, maps, features, value_dim, like)
    return state


def fmm_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    config: FMMConfig,
    near_weight: Optional[torch.Tensor],
    far_weight: Optional[torch.Tensor],
    key_padding_mask: Optional[torch.Tensor] = None,
    dropout_p: float = 0.0,
    slopes: Optional[torch.Tensor] = None,
    decay: Optional[torch.Tensor] = None,
    initial_state: Optional[FMMState] = None,
    output_final_state: bool = False,
    far_projection: Optional[torch.Tensor] = None,
):
    """FMM attention of whole sequences, or of the next tokens after a state, in O(N) time and memory.

    Args:
        q, k, v: (batch, heads, length, head_dim) (v may have its own last size).
        config: what to compute (``FMMConfig``).
        near_weight, far_weight: broadcastable to the output; None for a field that is off.
        key_padding_mask: (batch, length) bool, True where a key is padding; None: no padding.
        dropout_p: dropout on the near field's softmax weights.
        slopes, decay: the layer's ``head_constants`` (None: built here).
        initial_state: causal only, the state after the tokens before (``empty_state``; None: none).
        output_final_state: causal only, also return the state after these tokens.
        far_projection: (heads, head_dim, far_feature_dim), the far field's W when the config projects.
    Returns:
        (batch, heads, length, value_dim); with ``output_final_state`` also the new ``FMMState``.
    """
    if slopes is None and decay is None:
        slopes, decay = head_constants(config, q.shape[1], q)
    continuing = initial_state is not None or output_final_state
    if continuing and not config.causal:
        raise ValueError("states are defined for causal FMM attention only")
    if not continuing and uses_triton(config, q):
        from . import triton as kernels

        return kernels.fmm_attention(q, k, v, config, near_weight, far_weight, key_padding_mask, dropout_p, slopes, decay)
    # one copy each up front: both fields cut q, k, v into chunks, which would copy a strided view
    # (such as fairseq's (time, batch, channel) projections seen as heads) at every use
    q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
    state: FMMState = {}
    if continuing:
        state = initial_state or empty_state(config, q.shape[0], q.shape[1], q.shape[-1], v.shape[-1], q)
        k, v, key_padding_mask = _after_kept(state, k, v, key_padding_mask)
    out = far_state = None
    if config.has_near:
        near = band_attention(q, k, v, config.bandwidth, config.causal, key_padding_mask, config.chunk_size,
                              dropout_p=dropout_p, slopes=slopes, compiled=uses_compiled(config, q))
        out = near_weight * near
    if config.has_far:
        far_q, far_k = _far_queries_keys(config, q, k, far_projection)
        far = mean_linear_attention(
            far_q, far_k, v, resolve_feature_maps(config.feature_maps), config.causal, key_padding_mask, config.chunk_size,
            config.normalize_features, config.eps, decay, config.far_skip, state.get("far_state"), continuing,
            compiled=uses_compiled(config, q),
        )
        if continuing:
            far, far_state = far
        out = far_weight * far if out is None else torch.addcmul(out, far_weight, far)
    return (out, _state_after(config, k, v, key_padding_mask, far_state)) if continuing else out


def fmm_attention_step(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    state: FMMState,
    config: FMMConfig,
    near_weight: Optional[torch.Tensor],
    far_weight: Optional[torch.Tensor],
    key_padding_mask: Optional[torch.Tensor] = None,
    slopes: Optional[torch.Tensor] = None,
    decay: Optional[torch.Tensor] = None,
    far_projection: Optional[torch.Tensor] = None,
) -> Tuple[torch.Tensor, FMMState]:
    """The recurrent form of causal FMM attention, one token: q, k, v (batch, heads, 1, head_dim) and
    the state before it; returns near_weight * near + far_weight * far for that token and the state
    after it. ``key_padding_mask``: (batch, 1), True where this token is padding; ``far_projection``
    as in ``fmm_attention``."""
    if not config.causal:
        raise ValueError("incremental decoding needs a causal FMM layer")
    if slopes is None and decay is None:
        slopes, decay = head_constants(config, q.shape[1], q)
    keys, values, padding = _after_kept(state, k, v, key_padding_mask)
    compiled = uses_compiled(config, q)
    out = far_state = None
    if config.has_near:
        out = near_weight * band_step(q, keys, values, padding, config.bandwidth, slopes=slopes, compiled=compiled)
    if config.has_far:
        position = keys.shape[2] - 1 - config.far_skip  # of the key joining the far field (none before the first)
        joining = slice(position, position + 1) if position >= 0 else slice(0, 0)
        far_q, far_k = _far_queries_keys(config, q, keys[:, :, joining], far_projection)
        far, far_state = far_step(
            far_q, far_k, values[:, :, joining], state["far_state"], resolve_feature_maps(config.feature_maps),
            None if padding is None else padding[:, joining], config.normalize_features, config.eps, decay, compiled,
        )
        out = far_weight * far if out is None else torch.addcmul(out, far_weight, far)
    return out, _state_after(config, keys, values, padding, far_state)


def _far_queries_keys(config: FMMConfig, q: torch.Tensor, k: torch.Tensor, far_projection: Optional[torch.Tensor]):
    """The far field's queries and keys: q W_h, k W_h with W = ``far_projection`` (heads, head_dim,
    far_feature_dim) when the config projects, else q, k."""
    if not config.far_feature_dim:
        if far_projection is not None:
            raise ValueError("a far_projection was given, but the config does not project (far_feature_dim = 0)")
        return q, k
    expected = (q.shape[1], q.shape[-1], config.far_feature_dim)
    if far_projection is None or tuple(far_projection.shape) != expected:
        got = None if far_projection is None else tuple(far_projection.shape)
        raise ValueError(f"far_feature_dim = {config.far_feature_dim}: far_projection must be {expected}, got {got}")
    return q @ far_projection, k @ far_projection


def _after_kept(state: FMMState, k: torch.Tensor, v: torch.Tensor, key_padding_mask: Optional[torch.Tensor]):
    """The state's kept keys, values and padding flags followed by the new ones'; the flags None
    while no token was padding."""
    keys = torch.cat([state["prev_key"], k], dim=2)
    values = torch.cat([state["prev_value"], v], dim=2)
    kept_padding = state.get("prev_key_padding_mask")
    if kept_padding is None and key_padding_mask is None:
        return keys, values, None
    batch, kept, new = k.shape[0], state["prev_key"].shape[2], k.shape[2]
    if kept_padding is None:
        kept_padding = torch.zeros(batch, kept, dtype=torch.bool, device=k.device)
    if key_padding_mask is None:
        key_padding_mask = torch.zeros(batch, new, dtype=torch.bool, device=k.device)
    return keys, values, torch.cat([kept_padding, key_padding_mask.to(torch.bool).reshape(batch, new)], dim=1)


def _state_after(config: FMMConfig, keys, values, padding, far_state) -> FMMState:
    """The state that keeps the latest ``config.kept_keys`` of ``keys`` and ``values`` (copies: a
    long prompt's tensors are not held) and the far field's sums."""
    first = keys.shape[2] - min(config.kept_keys, keys.shape[2])
    state = {"prev_key": keys[:, :, first:].contiguous(), "prev_value": values[:, :, first:].contiguous()}
    if padding is not None:
        state["prev_key_padding_mask"] = padding[:, first:].contiguous()
    if far_state is not None:
        state["far_state"] = far_state
    return state
