"""``fmm_roberta``: fairseq's RoBERTa encoder with bidirectional FMM self-attention in every layer.

    fairseq-train data-bin --user-dir fmm_fairseq --task masked_lm --arch fmm_roberta_base ...
    fairseq-train data-bin --user-dir fmm_fairseq --task sentence_prediction --arch fmm_roberta_base \\
      --num-classes K --init-token 0 --restore-file MLM_CHECKPOINT --reset-optimizer ...

Everything but self-attention is RoBERTa's: embeddings, LM head, classification heads (registered
by ``sentence_prediction`` as for RoBERTa), hub interface (``fill_mask``, ``predict``). A
classification head reads the first token's features (``--classification-pooling first``,
RoBERTa's ``<s>``) or their mean over non-padded positions (``mean``, the LRA setting).
"""
import torch
from fairseq.models import register_model, register_model_architecture
from fairseq.models.roberta import RobertaEncoder, RobertaHubInterface, RobertaModel
from fairseq.models.roberta.model import base_architecture as roberta_base_architecture
from fairseq.models.roberta.model import roberta_large_architecture
from fairseq.modules.transformer_sentence_encoder import init_bert_params
from fairseq.utils import safe_getattr, safe_hasattr

from fmm_fairseq.modules import FMMTransformerEncoder

from .fmm_options import add_fmm_args, fmm_attention_options, set_fmm_defaults

FMM_PREFIX = "fmm_"
POOLING_CHOICES = ("first", "mean")


def mean_over_tokens(features: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
    """(batch, time, channel) features averaged over the positions where ``padding_mask`` is False."""
    keep = (~padding_mask).unsqueeze(-1).type_as(features)
    return (features * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1)


class FMMRobertaEncoder(RobertaEncoder):
    """RoBERTa's encoder (embeddings + LM head) around an FMM transformer encoder."""

    def __init__(self, args, dictionary, fmm_options):
        self.fmm_options = fmm_options  # read by build_encoder, which the base class calls
        super().__init__(args, dictionary)

    def build_encoder(self, args, dictionary, embed_tokens):
        encoder = FMMTransformerEncoder(args, dictionary, embed_tokens, self.fmm_options)
        encoder.apply(init_bert_params)  # RoBERTa's init of every linear layer and embedding
        return encoder


class WordTokens:
    """The BPE of a corpus that is already in dictionary tokens (e.g. ListOps): text passes unchanged."""

    @staticmethod
    def encode(text: str) -> str:
        return text

    @staticmethod
    def decode(text: str) -> str:
        return text


class FMMRobertaHubInterface(RobertaHubInterface):
    """RoBERTa's hub interface; ``predict`` pools as the model does, and no BPE means word tokens."""

    def __init__(self, cfg, task, model):
        super().__init__(cfg, task, model)
        self.bpe = self.bpe or WordTokens()

    def predict(self, head: str, tokens: torch.LongTensor, return_logits: bool = False):
        tokens = tokens.unsqueeze(0) if tokens.dim() == 1 else tokens
        if tokens.size(-1) > self.model.max_positions():
            raise ValueError(f"tokens exceeds maximum length: {tokens.size(-1)} > {self.model.max_positions()}")
        logits, _ = self.model(tokens.to(device=self.device), classification_head_name=head)
        return logits if return_logits else torch.log_softmax(logits, dim=-1)


@register_model("fmm_roberta")
class FMMRobertaModel(RobertaModel):
    """RoBERTa with FMM (near + far field) bidirectional self-attention; key padding respected."""

    @classmethod
    def hub_models(cls):
        return {}

    @staticmethod
    def add_args(parser):
        RobertaModel.add_args(parser)
        add_fmm_args(parser, FMM_PREFIX, "encoder self-attention")
        parser.add_argument(
            "--classification-pooling", choices=POOLING_CHOICES,
            help="what a classification head reads: 'first' token (<s>, RoBERTa) or the 'mean' over non-padded tokens",
        )

    @classmethod
    def build_model(cls, args, task):
        """RoBERTa's ``build_model`` with the FMM encoder; bad FMM options fail before building."""
        from omegaconf import OmegaConf

        if OmegaConf.is_config(args):
            OmegaConf.set_struct(args, False)
        fmm_roberta_architecture(args)
        fmm_options = fmm_attention_options(args, FMM_PREFIX, causal=False)  # bad options fail here, before building
        if args.classification_pooling not in POOLING_CHOICES:
            raise ValueError(f"invalid option --classification-pooling: expected first or mean, got {args.classification_pooling!r}")
        if not safe_hasattr(args, "max_positions"):
            if not safe_hasattr(args, "tokens_per_sample"):
                args.tokens_per_sample = task.max_positions()
            args.max_positions = args.tokens_per_sample
        encoder = FMMRobertaEncoder(args, task.source_dictionary, fmm_options)
        if OmegaConf.is_config(args):
            OmegaConf.set_struct(args, True)
        return cls(args, encoder)

    def forward(self, src_tokens, features_only=False, return_all_hiddens=False, classification_head_name=None, **kwargs):
        if classification_head_name is None or self.args.classification_pooling == "first":
            return super().forward(src_tokens, features_only, return_all_hiddens, classification_head_name, **kwargs)
        features, extra = self.encoder(src_tokens, True, return_all_hiddens, **kwargs)
        pooled = mean_over_tokens(features, src_tokens.eq(self.encoder.dictionary.pad()))
        return self.classification_heads[classification_head_name](pooled.unsqueeze(1)), extra  # the head reads position 0

    @classmethod
    def from_pretrained(cls, model_name_or_path, checkpoint_file="model.pt", data_name_or_path=".", bpe=None, **kwargs):
        """fairseq's hub loading; ``bpe`` (e.g. 'sentencepiece') as for RoBERTa, None for word tokens."""
        from fairseq import hub_utils

        loaded = hub_utils.from_pretrained(
            model_name_or_path, checkpoint_file, data_name_or_path, archive_map=cls.hub_models(), bpe=bpe,
            load_checkpoint_heads=True, **kwargs,
        )
        return FMMRobertaHubInterface(loaded["args"], loaded["task"], loaded["models"][0])


@register_model_architecture("fmm_roberta", "fmm_roberta")
def fmm_roberta_architecture(args):
    """roberta_base sizes: 12 layers, 768 dims, 12 heads, FFN 3072."""
    set_fmm_defaults(args, FMM_PREFIX)
    args.classification_pooling = safe_getattr(args, "classification_pooling", "first")
    roberta_base_architecture(args)


@register_model_architecture("fmm_roberta", "fmm_roberta_base")
def fmm_roberta_base(args):
    """= fmm_roberta."""
    fmm_roberta_architecture(args)


@register_model_architecture("fmm_roberta", "fmm_roberta_large")
def fmm_roberta_large(args):
    """roberta_large sizes: 24 layers, 1024 dims, 16 heads, FFN 4096."""
    set_fmm_defaults(args, FMM_PREFIX)
    args.classification_pooling = safe_getattr(args, "classification_pooling", "first")
    roberta_large_architecture(args)


@register_model_architecture("fmm_roberta", "fmm_roberta_lra")
def fmm_roberta_lra(args):
    """The seed's Long Range Arena encoder: 2 layers, 64 dims, 2 heads, FFN 128, GELU, dropout 0.1,
    learned positions, pre-LayerNorm with a final LayerNorm, mean pooling, ReLU head, band w = 5."""
    args.encoder_layers = safe_getattr(args, "encoder_layers", 2)
    args.encoder_embed_dim = safe_getattr(args, "encoder_embed_dim", 64)
    args.encoder_ffn_embed_dim = safe_getattr(args, "encoder_ffn_embed_dim", 128)
    args.encoder_attention_heads = safe_getattr(args, "encoder_attention_heads", 2)
    args.encoder_normalize_before = safe_getattr(args, "encoder_normalize_before", True)
    args.layernorm_embedding = safe_getattr(args, "layernorm_embedding", False)
    args.pooler_activation_fn = safe_getattr(args, "pooler_activation_fn", "relu")
    args.classification_pooling = safe_getattr(args, "classification_pooling", "mean")
    args.fmm_bandwidth = safe_getattr(args, "fmm_bandwidth", 5)
    fmm_roberta_architecture(args)
