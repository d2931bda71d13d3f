"""fairseq's transformer encoder and decoder with FMM self-attention in every layer.

FMM options are read from ``args`` under a prefix (``fmm_`` for the LM, ``encoder_fmm_`` /
``decoder_fmm_`` for translation) and validated once, before any layer is built.
"""
from fairseq.distributed import fsdp_wrap
from fairseq.models.transformer import TransformerConfig, TransformerDecoder, TransformerEncoder
from fairseq.modules.checkpoint_activations import checkpoint_wrapper

from fmm_fairseq.modules import FMMTransformerDecoderLayer, FMMTransformerEncoderLayer

from .fmm_options import fmm_attention_options


def wrap_layer(layer, cfg: TransformerConfig):
    """fairseq's activation checkpointing / FSDP wrapping of a layer, as its own layers get."""
    if cfg.checkpoint_activations:
        layer = checkpoint_wrapper(layer, offload_to_cpu=cfg.offload_activations)
    return fsdp_wrap(layer, min_num_params=0 if cfg.checkpoint_activations else cfg.min_params_to_wrap)


class FMMTransformerEncoder(TransformerEncoder):
    """``TransformerEncoder`` with bidirectional FMM self-attention (source padding respected)."""

    def __init__(self, args, dictionary, embed_tokens, return_fc=False, fmm_option_prefix="encoder_fmm_"):
        self.fmm_options = fmm_attention_options(args, fmm_option_prefix, causal=False)  # read by build_encoder_layer
        super().__init__(args, dictionary, embed_tokens, return_fc)

    def build_encoder_layer(self, cfg):
        cfg = TransformerConfig.from_namespace(cfg)
        return wrap_layer(FMMTransformerEncoderLayer(cfg, self.fmm_options, return_fc=self.return_fc), cfg)


class FMMTransformerDecoder(TransformerDecoder):
    """``TransformerDecoder`` with causal FMM self-attention; encoder attention stays softmax.

    It builds no dense N x N future mask: FMM decoder layers are causal by construction.
    """

    def __init__(self, args, dictionary, embed_tokens, no_encoder_attn=False, output_projection=None, fmm_option_prefix="fmm_"):
        self.fmm_options = fmm_attention_options(args, fmm_option_prefix, causal=True)  # read by build_decoder_layer
        super().__init__(args, dictionary, embed_tokens, no_encoder_attn, output_projection)

    def build_decoder_layer(self, cfg, no_encoder_attn=False):
        cfg = TransformerConfig.from_namespace(cfg)
        return wrap_layer(FMMTransformerDecoderLayer(cfg, self.fmm_options, no_encoder_attn), cfg)

    def buffered_future_mask(self, tensor):
        return None
