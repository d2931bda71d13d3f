"""fairseq transformer layers whose self-attention is FMM attention.

``fmm_options`` are the keyword arguments ``config`` and ``blend`` of ``FMMMultiheadAttention`` (see
``fmm_fairseq.models.fmm_options.fmm_attention_options``). They are stored before the base class
builds the layer, because its ``__init__`` calls ``build_self_attention``.
"""
from typing import Any, Dict

from fairseq.modules.transformer_layer import TransformerDecoderLayerBase, TransformerEncoderLayerBase

from .fmm_multihead_attention import FMMMultiheadAttention


def build_fmm_self_attention(layer, embed_dim: int, num_heads: int, cfg, causal: bool) -> FMMMultiheadAttention:
    """The FMM self-attention of ``layer`` (a fairseq layer holding ``fmm_options``)."""
    if layer.fmm_options["config"].causal != causal:
        kind = "causal" if causal else "bidirectional"
        raise ValueError(f"{type(layer).__name__} needs {kind} FMM attention")
    return FMMMultiheadAttention(
        embed_dim,
        num_heads,
        dropout=cfg.attention_dropout,
        q_noise=layer.quant_noise,
        qn_block_size=layer.quant_noise_block_size,
        **layer.fmm_options,
    )


class FMMTransformerEncoderLayer(TransformerEncoderLayerBase):
    """fairseq's encoder layer with bidirectional FMM self-attention."""

    def __init__(self, cfg, fmm_options: Dict[str, Any], return_fc: bool = False):
        self.fmm_options = fmm_options
        super().__init__(cfg, return_fc)

    def build_self_attention(self, embed_dim, cfg):
        return build_fmm_self_attention(self, embed_dim, cfg.encoder.attention_heads, cfg, causal=False)


class FMMTransformerDecoderLayer(TransformerDecoderLayerBase):
    """fairseq's decoder layer with causal FMM self-attention (encoder attention unchanged)."""

    def __init__(self, cfg, fmm_options: Dict[str, Any], no_encoder_attn: bool = False):
        self.fmm_options = fmm_options
        super().__init__(cfg, no_encoder_attn)

    def build_self_attention(self, embed_dim, cfg, add_bias_kv=False, add_zero_attn=False):
        if cfg.cross_self_attention or add_bias_kv or add_zero_attn:
            raise ValueError("FMM self-attention supports neither --cross-self-attention nor bias_kv/zero_attn")
        return build_fmm_self_attention(self, embed_dim, cfg.decoder.attention_heads, cfg, causal=True)
