"""Lets torch >= 2.6 (weights-only ``torch.load`` by default) read fairseq checkpoints.

fairseq 0.12 calls ``torch.load`` without ``weights_only``; its checkpoints hold, besides tensors,
an ``argparse.Namespace`` (legacy models) and a few plain Python / numpy objects. We allow exactly
those types; everything else is still refused by the weights-only unpickler.
"""
import argparse

import torch


def allow_fairseq_checkpoint_types() -> None:
    add_safe_globals = getattr(torch.serialization, "add_safe_globals", None)
    if add_safe_globals is not None:  # torch < 2.4 loads everything anyway
        add_safe_globals([argparse.Namespace])


allow_fairseq_checkpoint_types()
