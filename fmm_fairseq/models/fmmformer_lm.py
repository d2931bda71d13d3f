"""``fmmformer_lm``: fairseq's transformer language model with FMM self-attention.

    fairseq-train data-bin --user-dir fmm_fairseq --task language_modeling --arch fmmformer_lm ...
"""
from dataclasses import dataclass, field
from typing import Optional

from fairseq.dataclass import ChoiceEnum
from fairseq.models import register_model, register_model_architecture
from fairseq.models.transformer_lm import (
    TransformerLanguageModel,
    TransformerLanguageModelConfig,
    base_lm_architecture,
    transformer_lm_baevski_wiki103,
)
from fairseq.utils import safe_getattr

from .fmm_options import (
    BACKEND_CHOICES,
    BLEND_CHOICES,
    FEATURE_NORM_CHOICES,
    FMM_DEFAULTS,
    FMM_HELP,
    fmm_attention_options,
    set_fmm_defaults,
)
from .fmm_transformer import FMMTransformerDecoder


@dataclass
class FMMformerLanguageModelConfig(TransformerLanguageModelConfig):
    fmm_bandwidth: int = field(default=FMM_DEFAULTS["bandwidth"], metadata={"help": FMM_HELP["bandwidth"]})
    fmm_feature_maps: str = field(default=FMM_DEFAULTS["feature_maps"], metadata={"help": FMM_HELP["feature_maps"]})
    fmm_blend: ChoiceEnum(BLEND_CHOICES) = field(default=FMM_DEFAULTS["blend"], metadata={"help": FMM_HELP["blend"]})
    fmm_near_init: Optional[float] = field(default=FMM_DEFAULTS["near_init"], metadata={"help": FMM_HELP["near_init"]})
    fmm_far_init: float = field(default=FMM_DEFAULTS["far_init"], metadata={"help": FMM_HELP["far_init"]})
    fmm_learn_far_weight: bool = field(
        default=FMM_DEFAULTS["learn_far_weight"], metadata={"help": FMM_HELP["learn_far_weight"]}
    )
    fmm_chunk_size: int = field(default=FMM_DEFAULTS["chunk_size"], metadata={"help": FMM_HELP["chunk_size"]})
    fmm_feature_norm: ChoiceEnum(FEATURE_NORM_CHOICES) = field(
        default=FMM_DEFAULTS["feature_norm"], metadata={"help": FMM_HELP["feature_norm"]}
    )
    fmm_backend: ChoiceEnum(BACKEND_CHOICES) = field(default=FMM_DEFAULTS["backend"], metadata={"help": FMM_HELP["backend"]})


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
