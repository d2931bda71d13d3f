"""``FMMAttention``: multi-head FMM self-attention as an ``nn.Module`` for any PyTorch model.

    layer = FMMAttention(embed_dim=256, num_heads=4, config=FMMConfig(bandwidth=20))
    y = layer(x, key_padding_mask)                 # x: (batch, length, embed_dim), O(length)
    y, state = layer.step(x_new, state)            # the next tokens (a prompt, or one), state of bounded size (causal)

One set of q/k/v/out projections feeds both fields (as in the seed paper):
  out_proj(near_weight * band_softmax(q, k, v) + far_weight * mean_l linear_l(q, k, v))
with learned blend weights (``BlendConfig``); a field that is off has no weight (None). With
``config.far_feature_dim`` = d' > 0 the far field attends with q W_h, k W_h, a learned per-head
(head_dim x d') ``far_projection`` (None otherwise: no parameter). With ``config.train_min_bandwidth``
each training forward pass draws its band width (``pass_config``). The math
is ``fmm_attention`` (by chunks, from and to a state) / ``fmm_attention_step`` (one token); this
module holds parameters, its heads' constants and layouts only.
"""
import dataclasses
import math
from typing import Optional, Tuple

import torch
from torch import nn

from .config import BlendConfig, FMMConfig, head_constants
from .fmm import FMMState, check_backend, empty_state, fmm_attention, fmm_attention_step


class FMMAttention(nn.Module):
    """Multi-head FMM self-attention; inputs (batch, length, embed_dim), padding (batch, length) True = pad.

    Args:
        embed_dim, num_heads: model width and heads (head_dim = embed_dim / num_heads).
        config: the attention (``FMMConfig``): band, feature maps, causality, backend.
        blend: the blend weights (``BlendConfig``): per channel or head, their starts, far weight learned.
        dropout: dropout on the near field's softmax weights while training.
        bias: biases in the projections.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        config: FMMConfig = FMMConfig(),
        blend: BlendConfig = BlendConfig(),
        dropout: float = 0.0,
        bias: bool = True,
    ):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"embed_dim {embed_dim} must be divisible by num_heads {num_heads}")
        check_backend(config)
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.config = config
        self.blend = blend
        self.dropout = dropout
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        # Weights only for the fields this layer computes: a parameter no output uses would stop
        # torch DDP (find_unused_parameters=False) on the second update.
        weight_shape = (num_heads, 1, self.head_dim if blend.granularity == "channel" else 1)
        self.near_weight = nn.Parameter(torch.full(weight_shape, float(blend.near_init))) if config.has_near else None
        self.far_weight = (
            nn.Parameter(torch.full(weight_shape, float(blend.far_init)), requires_grad=blend.learn_far)
            if config.has_far else None
        )
        self.far_projection = (
            nn.Parameter(torch.empty(num_heads, self.head_dim, config.far_feature_dim)) if config.far_feature_dim else None
        )
        self._head_constants = {}  # (device, dtype) -> head_constants: built once, not per call
        self.reset_parameters()

    def reset_parameters(self):
        """Scaled Xavier for q/k/v (as fairseq's MultiheadAttention), Xavier and zero bias for out; the far
        projection per head orthogonal, columns of norm 1 on average (q W keeps q's per-feature scale)."""
        for projection in (self.q_proj, self.k_proj, self.v_proj):
            nn.init.xavier_uniform_(projection.weight, gain=1 / math.sqrt(2))
        nn.init.xavier_uniform_(self.out_proj.weight)
        if self.out_proj.bias is not None:
            nn.init.constant_(self.out_proj.bias, 0.0)
        if self.far_projection is not None:
            for head in self.far_projection:
                nn.init.orthogonal_(head, gain=max(1.0, math.sqrt(self.config.far_feature_dim / self.head_dim)))

    def forward(self, x: torch.Tensor, key_padding_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The whole sequence: (batch, length, embed_dim) -> (batch, length, embed_dim)."""
        q, k, v = self.project(x, time_first=False)
        return self.merge(self.attend(q, k, v, key_padding_mask), time_first=False)

    def step(
        self, x: torch.Tensor, state: Optional[FMMState] = None, key_padding_mask: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, FMMState]:
        """Causal attention of x (batch, new, embed_dim) after the tokens that ``state`` holds (None:
        none yet), one chunked pass however many tokens are new; returns their outputs, equal to
        ``forward`` on the whole sequence, and the state after them."""
        q, k, v = self.project(x, time_first=False)
        out, state = self.decode(q, k, v, key_padding_mask, state)
        return self.merge(out, time_first=False), state

    def project(self, x: torch.Tensor, time_first: bool) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q, k, v as (batch, heads, length, head_dim) from x: (batch, length, embed) or, when
        ``time_first``, (length, batch, embed) (fairseq's layout)."""
        return tuple(self._split_heads(projection(x), time_first) for projection in (self.q_proj, self.k_proj, self.v_proj))

    def merge(self, out: torch.Tensor, time_first: bool) -> torch.Tensor:
        """(batch, heads, length, head_dim) -> out_proj of (batch, length, embed) or (length, batch, embed)."""
        batch, _, length, _ = out.shape
        if time_first:
            out = out.permute(2, 0, 1, 3).reshape(length, batch, self.embed_dim)
        else:
            out = out.transpose(1, 2).reshape(batch, length, self.embed_dim)
        return self.out_proj(out)

    def dropout_p(self) -> float:
        """The near field's dropout probability for the next forward pass."""
        return self.dropout if self.training else 0.0

    def head_constants(self, like: torch.Tensor):
        """This layer's in-band slopes and far-field decay rates (``config.head_constants``) on ``like``'s device."""
        key = (like.device, like.dtype)
        if key not in self._head_constants:
            self._head_constants[key] = head_constants(self.config, self.num_heads, like)
        return self._head_constants[key]

    def pass_config(self) -> FMMConfig:
        """The config of the next whole-sequence pass: while training with ``train_min_bandwidth``, the band
        width (and the far field's skip outside it) drawn uniformly from [train_min_bandwidth, bandwidth]
        by torch's RNG, one draw per call; else ``config``."""
        if not (self.training and self.config.train_min_bandwidth):
            return self.config
        width = int(torch.randint(self.config.train_min_bandwidth, self.config.bandwidth + 1, ()))
        return dataclasses.replace(self.config, bandwidth=width)

    def attend(self, q, k, v, key_padding_mask: Optional[torch.Tensor]) -> torch.Tensor:
        """Blended attention of whole sequences, (batch, heads, length, head_dim)."""
        return fmm_attention(q, k, v, self.pass_config(), self.near_weight, self.far_weight, key_padding_mask,
                             self.dropout_p(), *self.head_constants(q), far_projection=self.far_projection)

    def decode(self, q, k, v, key_padding_mask: Optional[torch.Tensor], state: Optional[FMMState]):
        """The new positions after ``state`` (None or empty: none before): one token by the recurrent
        form, several by one chunked pass; returns the outputs and the new state."""
        if not state:
            state = empty_state(self.config, q.shape[0], self.num_heads, self.head_dim, self.head_dim, q)
        slopes, decay = self.head_constants(q)
        if q.shape[2] == 1:
            return fmm_attention_step(q, k, v, state, self.config, self.near_weight, self.far_weight, key_padding_mask,
                                      slopes, decay, self.far_projection)
        return fmm_attention(q, k, v, self.config, self.near_weight, self.far_weight, key_padding_mask, self.dropout_p(),
                             slopes, decay, initial_state=state, output_final_state=True, far_projection=self.far_projection)

    def _split_heads(self, x: torch.Tensor, time_first: bool) -> torch.Tensor:
        if time_first:
            length, batch, _ = x.shape
            return x.view(length, batch, self.num_heads, self.head_dim).permute(1, 2, 0, 3)
        batch, length, _ = x.shape
        return x.view(batch, length, self.num_heads, self.head_dim).transpose(1, 2)
