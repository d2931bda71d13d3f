"""Thin shim so that ``--user-dir user_dir`` works like ``--user-dir fmm_fairseq``."""
import fmm_fairseq  # noqa: F401  (registers the models)
