"""fairseq models with FMM attention (importing registers them)."""
from . import fmmformer, fmmformer_lm  # noqa: F401
