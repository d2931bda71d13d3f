"""``fmmformer_lm``: fairseq's transformer language model with FMM self-attention.

    fairseq-train data-bin --user-dir fmm_fairseq --task language_modeling --arch fmmformer_lm ...
"""
from dataclasses import make_dataclass

from fairseq.models import register_model, register_model_architecture
from fairseq.models.transformer_lm import (
    TransformerLanguageModel,
    TransformerLanguageModelConfig,
    base_lm_architecture,
    transformer_lm_baevski_wiki103,
)
from fairseq.utils import safe_getattr

from fmm_fairseq.modules import FMMTransformerDecoder

from .fmm_options import dataclass_fields, fmm_attention_options, set_fmm_defaults


# fairseq's transformer_lm options plus --fmm-* (fmm_options.FMM_DEFAULTS: one source for every model)
FMMformerLanguageModelConfig = make_dataclass(
    "FMMformerLanguageModelConfig", dataclass_fields("fmm_"), bases=(TransformerLanguageModelConfig,)
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
        fmm_options = fmm_attention_options(args, "fmm_", causal=True)  # fails on bad options before building anything
        embed_tokens = super().build_model(args, task).decoder.embed_tokens
        return cls(FMMTransformerDecoder(args, task.target_dictionary, embed_tokens, fmm_options, no_encoder_attn=True))

    def prepare_for_inference_(self, cfg):
        """fairseq-eval-lm and the hub call this with their configuration: a sample length beyond the
        model's learned positions stops here, where fairseq would skip every such sample silently."""
        length = safe_getattr(safe_getattr(cfg, "task", None), "tokens_per_sample", None)
        limit = self.max_positions()
        if length is not None and length > limit:
            raise ValueError(
                f"--tokens-per-sample {length} is longer than this model's {limit} learned positions "
                f"(--max-target-positions {limit}); fairseq would skip every longer sample without a word. "
                f"Evaluate with --tokens-per-sample <= {limit}, extend the table (fmm-convert CHECKPOINT OUT "
                f"--max-target-positions {length}: the learned rows copied), or train with sinusoidal positions (the "
                "default) or none (--no-token-positional-embeddings): FMM attention itself has no length limit."
            )
        super().prepare_for_inference_(cfg)


@register_model_architecture("fmmformer_lm", "fmmformer_lm_wiki103")
def fmmformer_lm_wiki103(args):
    """transformer_lm_wiki103 sizes: 16 layers, 1024 dims, adaptive input and softmax."""
    set_fmm_defaults(args)
    transformer_lm_baevski_wiki103(args)


@register_model_architecture("fmmformer_lm", "fmmformer_lm_long")
def fmmformer_lm_long(args):
    """fmmformer_lm's sizes, set up to run longer than it was trained (README "Long context",
    docs/long_context.md): no absolute positions, word order from a bias inside the band, and the far
    field split from the band (keys j <= i - w only), decaying per head (horizons 32-1,024 tokens)
    with its weight learned. Any of the FMM options can still be given; the on/off ones are fixed
    here (store_true flags have no "off"): for another mix use --arch fmmformer_lm and the flags.
    --decoder-learned-pos asks for positions: it gets learned ones (which bound the length)."""
    args.no_token_positional_embeddings = safe_getattr(
        args, "no_token_positional_embeddings", not safe_getattr(args, "decoder_learned_pos", False))
    set_fmm_defaults(args, near_alibi=True, far_outside_band=True, far_horizons="32,1024", learn_far_weight=True)
    base_lm_architecture(args)


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
