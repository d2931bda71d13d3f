"""fairseq-facing layers: FMM self-attention, the transformer layers and stacks that use it."""
from .fmm_multihead_attention import FMMMultiheadAttention
from .fmm_transformer_layer import FMMTransformerDecoderLayer, FMMTransformerEncoderLayer
from .fmm_transformer_stacks import FMMTransformerDecoder, FMMTransformerEncoder

__all__ = [
    "FMMMultiheadAttention",
    "FMMTransformerDecoder",
    "FMMTransformerDecoderLayer",
    "FMMTransformerEncoder",
    "FMMTransformerEncoderLayer",
]
