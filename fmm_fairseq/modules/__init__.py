"""fairseq-facing layers: FMM self-attention and the transformer layers that use it."""
from .fmm_multihead_attention import FMMMultiheadAttention
from .fmm_transformer_layer import FMMTransformerDecoderLayer, FMMTransformerEncoderLayer

__all__ = ["FMMMultiheadAttention", "FMMTransformerDecoderLayer", "FMMTransformerEncoderLayer"]
