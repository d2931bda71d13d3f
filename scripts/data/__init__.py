"""Corpus builders (``fmm-prepare-lm``, ``fmm-prepare-translation``, ``fmm-prepare-listops``), what they
share (``preparation``) and the ListOps task itself (``listops``)."""
