"""fairseq's transformer encoder and decoder with FMM self-attention in every layer.

``fmm_options`` are the keyword arguments of ``FMMMultiheadAttention`` for every layer of the
stack (``fmm_fairseq.models.fmm_options.fmm_attention_options``, read and validated once).
"""
from fairseq.distributed import fsdp_wrap
from fairseq.models.transformer import TransformerConfig, TransformerDecoder, TransformerEncoder
from fairseq.modules import SinusoidalPositionalEmbedding
from fairseq.modules.checkpoint_activations import checkpoint_wrapper

from .fmm_transformer_layer import FMMTransformerDecoderLayer, FMMTransformerEncoderLayer


UNLIMITED_POSITIONS = 10**9  # what max_positions() reports when positions do not limit the length


def positions_limit(stack, limit: int) -> int:
    """FMM attention has no length limit of its own: without positions, or with sinusoidal ones
    (computed for any position), a stack takes any length; learned positions stop at their table."""
    if stack.embed_positions is None or isinstance(stack.embed_positions, SinusoidalPositionalEmbedding):
        return UNLIMITED_POSITIONS
    return limit


def wrap_layer(layer, cfg: TransformerConfig):
    """fairseq's activation checkpointing / FSDP wrapping of a layer, as its own layers get."""
    if cfg.checkpoint_activations:
        layer = checkpoint_wrapper(layer, offload_to_cpu=cfg.offload_activations)
    return fsdp_wrap(layer, min_num_params=0 if cfg.checkpoint_activations else cfg.min_params_to_wrap)


class FMMTransformerEncoder(TransformerEncoder):
    """``TransformerEncoder`` with bidirectional FMM self-attention (source padding respected)."""

    def __init__(self, args, dictionary, embed_tokens, fmm_options, return_fc=False):
        self.fmm_options = fmm_options  # read by build_encoder_layer, which the base class calls
        super().__init__(args, dictionary, embed_tokens, return_fc)

    def build_encoder_layer(self, cfg):
        cfg = TransformerConfig.from_namespace(cfg)
        return wrap_layer(FMMTransformerEncoderLayer(cfg, self.fmm_options, return_fc=self.return_fc), cfg)

    def max_positions(self):
        return positions_limit(self, super().max_positions())


class FMMTransformerDecoder(TransformerDecoder):
    """``TransformerDecoder`` with causal FMM self-attention; encoder attention stays softmax.

    It builds no dense N x N future mask: FMM decoder layers are causal by construction.
    """

    def __init__(self, args, dictionary, embed_tokens, fmm_options, no_encoder_attn=False, output_projection=None):
        self.fmm_options = fmm_options  # read by build_decoder_layer, which the base class calls
        super().__init__(args, dictionary, embed_tokens, no_encoder_attn, output_projection)

    def build_decoder_layer(self, cfg, no_encoder_attn=False):
        cfg = TransformerConfig.from_namespace(cfg)
        return wrap_layer(FMMTransformerDecoderLayer(cfg, self.fmm_options, no_encoder_attn), cfg)

    def buffered_future_mask(self, tensor):
        return None

    def max_positions(self):
        return positions_limit(self, super().max_positions())
