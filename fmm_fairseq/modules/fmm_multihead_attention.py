"""FMM self-attention as a drop-in for fairseq's ``MultiheadAttention`` (self-attention only).

``fmm_attention.FMMAttention`` with fairseq's forward signature and (time, batch, channel) layout,
its dropout and quant-noise options, its incremental state (reordered by beam search), attention
transfer for converted checkpoints, and the migration of older checkpoints' layouts.
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from fairseq.incremental_decoding_utils import with_incremental_state
from fairseq.modules.fairseq_dropout import FairseqDropout
from fairseq.modules.multihead_attention import MultiheadAttention
from fairseq.modules.quant_noise import quant_noise

from fmm_attention import BlendConfig, FMMAttention, FMMConfig, fmm_attention
from fmm_attention.near import covering_band_attention


def _is_view_of(other: Optional[Tensor], query: Tensor) -> bool:
    """True if ``other`` is None or the very same tensor data as ``query`` (self-attention)."""
    return other is None or other is query or (
        other.data_ptr() == query.data_ptr() and other.shape == query.shape and other.stride() == query.stride()
    )


@with_incremental_state
class FMMMultiheadAttention(FMMAttention):
    """fairseq's self-attention interface over ``FMMAttention`` (same parameters and state dict)."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        config: FMMConfig,
        blend: BlendConfig = BlendConfig(),
        dropout: float = 0.0,
        bias: bool = True,
        q_noise: float = 0.0,
        qn_block_size: int = 8,
    ):
        super().__init__(embed_dim, num_heads, config, blend, dropout, bias)
        self.self_attention = True
        self.dropout_module = FairseqDropout(dropout, module_name=self.__class__.__name__)
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            setattr(self, name, quant_noise(getattr(self, name), q_noise, qn_block_size))

    def dropout_p(self) -> float:
        """fairseq's rule: dropout while training, or always with ``apply_during_inference``."""
        dropping = self.training or self.dropout_module.apply_during_inference
        return self.dropout_module.p if dropping else 0.0

    def forward(
        self,
        query: Tensor,
        key: Optional[Tensor],
        value: Optional[Tensor],
        key_padding_mask: Optional[Tensor] = None,
        incremental_state: Optional[Dict[str, Dict[str, Optional[Tensor]]]] = None,
        need_weights: bool = True,
        static_kv: bool = False,
        attn_mask: Optional[Tensor] = None,
        before_softmax: bool = False,
        need_head_weights: bool = False,
    ) -> Tuple[Tensor, Optional[Tensor]]:
        """query: (time, batch, channel); returns (output of the same shape, None).

        ``attn_mask`` may only be the causal mask of a causal layer (implied by construction);
        FMM attention has no dense weights, so the second output is always None.
        """
        if not (_is_view_of(key, query) and _is_view_of(value, query)):
            raise ValueError("FMMMultiheadAttention is self-attention: key and value must be the query")
        if static_kv or before_softmax:
            raise ValueError("FMMMultiheadAttention supports neither static_kv nor before_softmax")
        if attn_mask is not None and not self.config.causal:
            raise ValueError("a bidirectional FMM layer takes no attn_mask; padding goes in key_padding_mask")
        length, batch, _ = query.shape
        if key_padding_mask is not None and key_padding_mask.shape != (batch, length):
            raise ValueError(f"key_padding_mask must be (batch, time) = {(batch, length)}, got {tuple(key_padding_mask.shape)}")
        q, k, v = self.project(query, time_first=True)
        if incremental_state is None:
            out = self.attend(q, k, v, key_padding_mask)
        else:
            saved = self._get_input_buffer(incremental_state)
            out, state = self.decode(q, k, v, key_padding_mask, saved or None)
            self._set_input_buffer(incremental_state, state)
        return self.merge(out, time_first=True), None

    def transfer_loss(self, query: Tensor, key_padding_mask: Optional[Tensor] = None) -> Tensor:
        """Attention transfer: mean over non-padded positions and channels of
        (out_proj(fmm(q, k, v)) - out_proj(softmax(q, k, v)))^2, softmax over every (causal: earlier)
        key, as the softmax layer this one was converted from computed. q, k, v and out_proj are
        held fixed, so only the blend weights learn. query: (time, batch, channel), as in forward.
        """
        with torch.no_grad():
            q, k, v = self.project(query, time_first=True)
            target = covering_band_attention(q, k, v, self.config.causal, key_padding_mask, self.head_dim ** -0.5, 0.0)
        out = fmm_attention(q, k, v, self.config, self.near_weight, self.far_weight, key_padding_mask, 0.0, *self.head_constants(q),
                            far_projection=self.far_projection)
        length, batch, _ = query.shape
        difference = (out - target).permute(2, 0, 1, 3).reshape(length, batch, self.embed_dim)
        squared = F.linear(difference, self.out_proj.weight.detach()).pow(2).mean(dim=-1)  # (time, batch)
        if key_padding_mask is None:
            return squared.mean()
        kept = ~key_padding_mask.to(torch.bool).t()
        return squared[kept].sum() / kept.sum().clamp(min=1)

    def upgrade_state_dict_named(self, state_dict, name):
        """Loads three earlier layouts into this layer (fairseq calls this before a strict load):

        * fairseq's legacy ``in_proj_weight`` / ``in_proj_bias`` (q, k, v stacked) -> q/k/v_proj;
        * a softmax layer (fairseq's ``MultiheadAttention``: projections, no blend weights) gets the
          conversion init, near weight 1 and far weight 0: the layer starts as the softmax layer
          restricted to its band (exactly it when the band covers the sequence). Its far weight must
          be learned, or the far field would stay off for good;
        * FMM checkpoints written before layers owned weights only for the fields they compute also
          hold a near (far) weight for a field that is off; no output depended on it, it is dropped;
        * a checkpoint without a far projection (softmax, or FMM with ``far_feature_dim`` 0) loaded
          into a layer that projects gets this layer's initial projection.
        """
        prefix = name + "." if name else ""
        MultiheadAttention.upgrade_state_dict_named(self, state_dict, name)  # fairseq's in_proj split (same layout)
        softmax_layer = prefix + "q_proj.weight" in state_dict and not any(
            prefix + weight in state_dict for weight in ("near_weight", "far_weight")
        )
        if softmax_layer:
            if self.far_weight is not None and self.near_weight is not None and not self.far_weight.requires_grad:
                raise ValueError(
                    f"{prefix}*: a softmax checkpoint's attention starts FMM with far weight 0 (conversion init), "
                    "so the far weight must be learned: add --fmm-learn-far-weight (translation: "
                    "--encoder-fmm-learn-far-weight / --decoder-fmm-learn-far-weight), or convert the checkpoint "
                    "with fmm-convert"
                )
            if self.near_weight is not None:
                state_dict[prefix + "near_weight"] = torch.ones_like(self.near_weight)
            if self.far_weight is not None:  # without a near field the far field keeps its own init
                far = torch.zeros_like(self.far_weight) if self.near_weight is not None else self.far_weight.detach()
                state_dict[prefix + "far_weight"] = far.clone()
        if self.far_projection is not None and prefix + "far_projection" not in state_dict:
            state_dict[prefix + "far_projection"] = self.far_projection.detach().clone()
        for weight, field_on in (("near_weight", self.config.has_near), ("far_weight", self.config.has_far)):
            if not field_on:
                state_dict.pop(prefix + weight, None)

    @torch.jit.unused
    def reorder_incremental_state(self, incremental_state, new_order: Tensor):
        """Reorders the decoding state along the batch (beam) axis, as beam search asks."""
        saved = self._get_input_buffer(incremental_state)
        if saved:
            reordered = {name: tensor.index_select(0, new_order) for name, tensor in saved.items()}
            incremental_state = self._set_input_buffer(incremental_state, reordered)
        return incremental_state

    def _get_input_buffer(self, incremental_state) -> Dict[str, Optional[Tensor]]:
        return self.get_incremental_state(incremental_state, "attn_state") or {}

    def _set_input_buffer(self, incremental_state, buffer: Dict[str, Optional[Tensor]]):
        return self.set_incremental_state(incremental_state, "attn_state", buffer)
