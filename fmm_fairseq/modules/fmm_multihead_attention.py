"""FMM self-attention as a drop-in for fairseq's ``MultiheadAttention`` (self-attention only).

Same forward signature and (time, batch, channel) layout. One set of q/k/v/out projections feeds
both fields (as in the seed paper); the math lives in ``fmm_fairseq.attention``. Incremental
decoding keeps the keys and values while they are few, then O(w + r * d^2) numbers per head: the
last w-1 keys/values and per-map sums (``fmm_attention_step``).
"""
import math
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fairseq.incremental_decoding_utils import with_incremental_state
from fairseq.modules.fairseq_dropout import FairseqDropout
from fairseq.modules.multihead_attention import MultiheadAttention
from fairseq.modules.quant_noise import quant_noise

from fmm_fairseq.attention import FMMConfig, empty_decode_state, fmm_attention, fmm_attention_step
from fmm_fairseq.attention.band import covering_band_attention

BLEND_GRANULARITIES = ("channel", "head")


def _is_view_of(other: Optional[Tensor], query: Tensor) -> bool:
    """True if ``other`` is None or the very same tensor data as ``query`` (self-attention)."""
    return other is None or other is query or (
        other.data_ptr() == query.data_ptr() and other.shape == query.shape and other.stride() == query.stride()
    )


@with_incremental_state
class FMMMultiheadAttention(nn.Module):
    """out_proj(near_weight * band_softmax(q, k, v) + far_weight * mean_l linear_l(q, k, v)).

    ``blend`` chooses one learned near weight per channel or per head; it starts at ``near_init``
    (the paper's LM recipe starts it at 0, i.e. as linear attention). ``far_weight`` starts at
    ``far_init`` and is learned only with ``learn_far_weight``. A field that is off (bandwidth 0,
    no feature maps) has no weight: ``near_weight`` / ``far_weight`` is None.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        fmm: FMMConfig,
        dropout: float = 0.0,
        bias: bool = True,
        blend: str = "channel",
        near_init: float = 1.0,
        far_init: float = 1.0,
        learn_far_weight: bool = False,
        q_noise: float = 0.0,
        qn_block_size: int = 8,
    ):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
        if blend not in BLEND_GRANULARITIES:
            raise ValueError(f"blend must be one of {BLEND_GRANULARITIES}, got {blend!r}")
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.fmm = fmm
        self.self_attention = True
        self.dropout_module = FairseqDropout(dropout, module_name=self.__class__.__name__)
        self.q_proj = quant_noise(nn.Linear(embed_dim, embed_dim, bias=bias), q_noise, qn_block_size)
        self.k_proj = quant_noise(nn.Linear(embed_dim, embed_dim, bias=bias), q_noise, qn_block_size)
        self.v_proj = quant_noise(nn.Linear(embed_dim, embed_dim, bias=bias), q_noise, qn_block_size)
        self.out_proj = quant_noise(nn.Linear(embed_dim, embed_dim, bias=bias), q_noise, qn_block_size)

        # Weights only for the fields this layer computes: a parameter no output uses would stop
        # torch DDP (find_unused_parameters=False, fairseq's default) on the second update.
        weight_shape = (num_heads, 1, self.head_dim if blend == "channel" else 1)
        self.near_weight = nn.Parameter(torch.full(weight_shape, float(near_init))) if fmm.has_near else None
        self.far_weight = (
            nn.Parameter(torch.full(weight_shape, float(far_init)), requires_grad=learn_far_weight) if fmm.has_far else None
        )
        self.reset_parameters()

    def reset_parameters(self):
        """fairseq's MultiheadAttention initialisation (scaled Xavier for q/k/v)."""
        for projection in (self.q_proj, self.k_proj, self.v_proj):
            nn.init.xavier_uniform_(projection.weight, gain=1 / math.sqrt(2))
        nn.init.xavier_uniform_(self.out_proj.weight)
        if self.out_proj.bias is not None:
            nn.init.constant_(self.out_proj.bias, 0.0)

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
        if attn_mask is not None and not self.fmm.causal:
            raise ValueError("a bidirectional FMM layer takes no attn_mask; padding goes in key_padding_mask")
        length, batch, _ = query.shape
        if key_padding_mask is not None and key_padding_mask.shape != (batch, length):
            raise ValueError(f"key_padding_mask must be (batch, time) = {(batch, length)}, got {tuple(key_padding_mask.shape)}")
        q, k, v = (self._split_heads(projection(query)) for projection in (self.q_proj, self.k_proj, self.v_proj))

        if incremental_state is None:
            dropping = self.training or self.dropout_module.apply_during_inference
            dropout_p = self.dropout_module.p if dropping else 0.0
            out = fmm_attention(q, k, v, self.fmm, self.near_weight, self.far_weight, key_padding_mask, dropout_p)
        else:
            out = self._decode(q, k, v, key_padding_mask, incremental_state)
        out = out.permute(2, 0, 1, 3).reshape(length, batch, self.embed_dim)
        return self.out_proj(out), None

    def transfer_loss(self, query: Tensor, key_padding_mask: Optional[Tensor] = None) -> Tensor:
        """Attention transfer: mean over non-padded positions and channels of
        (out_proj(fmm(q, k, v)) - out_proj(softmax(q, k, v)))^2, softmax over every (causal: earlier)
        key, as the softmax layer this one was converted from computed. q, k, v and out_proj are
        held fixed, so only the blend weights learn. query: (time, batch, channel), as in forward.
        """
        with torch.no_grad():
            q, k, v = (self._split_heads(projection(query)) for projection in (self.q_proj, self.k_proj, self.v_proj))
            target = covering_band_attention(q, k, v, self.fmm.causal, key_padding_mask, self.head_dim ** -0.5, 0.0)
        out = fmm_attention(q, k, v, self.fmm, self.near_weight, self.far_weight, key_padding_mask, 0.0)
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
          hold a near (far) weight for a field that is off; no output depended on it, it is dropped.
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
                    "with scripts/convert_to_fmm.py"
                )
            if self.near_weight is not None:
                state_dict[prefix + "near_weight"] = torch.ones_like(self.near_weight)
            if self.far_weight is not None:  # without a near field the far field keeps its own init
                far = torch.zeros_like(self.far_weight) if self.near_weight is not None else self.far_weight.detach()
                state_dict[prefix + "far_weight"] = far.clone()
        for weight, field_on in (("near_weight", self.fmm.has_near), ("far_weight", self.fmm.has_far)):
            if not field_on:
                state_dict.pop(prefix + weight, None)

    def _split_heads(self, x: Tensor) -> Tensor:
        """(time, batch, channel) -> (batch, heads, time, head_dim)."""
        length, batch, _ = x.shape
        return x.view(length, batch, self.num_heads, self.head_dim).permute(1, 2, 0, 3)

    def _decode(self, q, k, v, key_padding_mask, incremental_state) -> Tensor:
        """Steps through the new positions one by one from the saved state, then saves it."""
        saved = self._get_input_buffer(incremental_state)
        state = saved if "prev_key" in saved else empty_decode_state(
            self.fmm, q.shape[0], self.num_heads, self.head_dim, self.head_dim, q
        )
        outputs = []
        for t in range(q.shape[2]):
            step_padding = None if key_padding_mask is None else key_padding_mask[:, t : t + 1]
            out, state = fmm_attention_step(
                q[:, :, t : t + 1], k[:, :, t : t + 1], v[:, :, t : t + 1], state,
                self.fmm, self.near_weight, self.far_weight, step_padding,
            )
            outputs.append(out)
        self._set_input_buffer(incremental_state, state)
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=2)

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
