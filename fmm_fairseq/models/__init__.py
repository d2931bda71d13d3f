"""fairseq models with FMM attention (importing registers them)."""
from . import fmm_roberta, fmmformer, fmmformer_lm  # noqa: F401
