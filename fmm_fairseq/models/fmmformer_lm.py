"""``fmmformer_lm``: fairseq's transformer language model with FMM self-attention.

    fairseq-train data-bin --user-dir fmm_fairseq --task language_modeling --arch fmmformer_lm ...
"""
from dataclasses import dataclass, field
from typing import Optional

from fairseq.dataclass import ChoiceEnum
from fairseq.distributed import fsdp_wrap
from fairseq.models import register_model, register_model_architecture
from fairseq.models.transformer import TransformerConfig, TransformerDecoder
from fairseq.models.transformer_lm import (
    TransformerLanguageModel,
    TransformerLanguageModelConfig,
    base_lm_architecture,
    transformer_lm_baevski_wiki103,
)
from fairseq.modules.checkpoint_activations import checkpoint_wrapper
from fairseq.utils import safe_getattr

from fmm_fairseq.modules import FMMTransformerDecoderLayer

from .fmm_options import FMM_DEFAULTS, fmm_attention_options, set_fmm_defaults


class FMMTransformerDecoder(TransformerDecoder):
    """fairseq's ``TransformerDecoder`` with causal FMM self-attention in every layer.

    It builds no dense N x N future mask: FMM layers are causal by construction. FMM options are
    read from ``args`` with ``fmm_option_prefix`` (``fmm_`` for the LM).
    """

    def __init__(self, args, dictionary, embed_tokens, no_encoder_attn=False, output_projection=None, fmm_option_prefix="fmm_"):
        self.fmm_options = fmm_attention_options(args, fmm_option_prefix, causal=True)  # used by build_decoder_layer
        super().__init__(args, dictionary, embed_tokens, no_encoder_attn, output_projection)

    def build_decoder_layer(self, cfg, no_encoder_attn=False):
        cfg = TransformerConfig.from_namespace(cfg)
        layer = FMMTransformerDecoderLayer(cfg, self.fmm_options, no_encoder_attn)
        if cfg.checkpoint_activations:
            layer = checkpoint_wrapper(layer, offload_to_cpu=cfg.offload_activations)
        return fsdp_wrap(layer, min_num_params=cfg.min_params_to_wrap if not cfg.checkpoint_activations else 0)

    def buffered_future_mask(self, tensor):
        return None


@dataclass
class FMMformerLanguageModelConfig(TransformerLanguageModelConfig):
    fmm_bandwidth: int = field(
        default=FMM_DEFAULTS["bandwidth"],
        metadata={"help": "near field bandwidth w: softmax attention over each token and the w-1 before it; 0 switches the near field off"},
    )
    fmm_feature_maps: str = field(
        default=FMM_DEFAULTS["feature_maps"],
        metadata={"help": "far field: comma-separated feature maps among elu, elu_flip, tanh, relu (their linear attentions are averaged); 'none' switches the far field off"},
    )
    fmm_blend: ChoiceEnum(["channel", "head"]) = field(
        default=FMM_DEFAULTS["blend"],
        metadata={"help": "out = near_weight * near + far_weight * far, with one learned near weight per channel or per head"},
    )
    fmm_near_init: Optional[float] = field(
        default=FMM_DEFAULTS["near_init"],
        metadata={"help": "initial near weight (default: 0 with a far field, as in the FMMformer paper's LM; 1 without one)"},
    )
    fmm_far_init: float = field(default=FMM_DEFAULTS["far_init"], metadata={"help": "initial (or fixed) far weight"})
    fmm_learn_far_weight: bool = field(
        default=FMM_DEFAULTS["learn_far_weight"], metadata={"help": "learn the far weight too (default: fixed at --fmm-far-init)"}
    )
    fmm_chunk_size: int = field(
        default=FMM_DEFAULTS["chunk_size"],
        metadata={"help": "sequence chunk length of the O(N) band and causal linear attention (a speed knob; results do not depend on it)"},
    )
    fmm_feature_norm: ChoiceEnum(["sum", "none"]) = field(
        default=FMM_DEFAULTS["feature_norm"],
        metadata={"help": "'sum': rescale phi(q), phi(k) to sum to 1 over features before linear attention (the paper's LM setting)"},
    )


@register_model("fmmformer_lm", dataclass=FMMformerLanguageModelConfig)
class FMMformerLanguageModel(TransformerLanguageModel):
    """Transformer language model with FMM (near + far field) self-attention."""

    @classmethod
    def hub_models(cls):
        return {}

    @classmethod
    def build_model(cls, args, task):
        """fairseq builds the embeddings (plain, adaptive or character); the decoder is ours."""
        fmm_attention_options(args, "fmm_", causal=True)  # fail on bad options before building anything
        embed_tokens = super().build_model(args, task).decoder.embed_tokens
        return cls(FMMTransformerDecoder(args, task.target_dictionary, embed_tokens, no_encoder_attn=True))


@register_model_architecture("fmmformer_lm", "fmmformer_lm_wiki103")
def fmmformer_lm_wiki103(args):
    """transformer_lm_wiki103 sizes: 16 layers, 1024 dims, adaptive input and softmax."""
    set_fmm_defaults(args)
    transformer_lm_baevski_wiki103(args)


@register_model_architecture("fmmformer_lm", "fmmformer_lm_tiny")
def fmmformer_lm_tiny(args):
    """A small model that trains on 2 CPU cores in minutes: 2 layers, 128 dims, 4 heads."""
    args.decoder_layers = safe_getattr(args, "decoder_layers", 2)
    args.decoder_embed_dim = safe_getattr(args, "decoder_embed_dim", 128)
    args.decoder_ffn_embed_dim = safe_getattr(args, "decoder_ffn_embed_dim", 512)
    args.decoder_attention_heads = safe_getattr(args, "decoder_attention_heads", 4)
    args.share_decoder_input_output_embed = safe_getattr(args, "share_decoder_input_output_embed", True)
    set_fmm_defaults(args)
    base_lm_architecture(args)
