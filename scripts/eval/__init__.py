"""Evaluation a user runs on a trained model (``fmm-evaluate-translation``: BLEU on raw references)."""
