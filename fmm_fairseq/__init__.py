"""fmm_fairseq: FMMformer attention (near-field band + far-field low-rank) as a fairseq plugin.

Importing the package (which is what ``--user-dir fmm_fairseq`` does) registers the models and the
attention-transfer criterion, and makes fairseq checkpoints loadable under torch >= 2.6.
"""
from . import checkpoint_compat  # noqa: F401
from . import criterions  # noqa: F401
from . import models  # noqa: F401

__version__ = "0.1.0"
