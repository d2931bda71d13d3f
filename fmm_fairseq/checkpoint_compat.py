"""Lets torch >= 2.6 (weights-only ``torch.load`` by default) read fairseq checkpoints.

fairseq 0.12 calls ``torch.load`` without ``weights_only``. Its checkpoint files hold, besides
tensors, an ``argparse.Namespace`` (legacy models) and plain Python / numpy objects. A checkpoint
loaded on rank 0 of a multi-rank job is sent to the other ranks pickled again
(``fairseq.distributed.utils.broadcast_object``), now with its configuration as omegaconf objects:
without these types every rank but 0 fails to resume or ``--finetune-from-model``. We allow exactly
those types; everything else is still refused by the weights-only unpickler.
"""
import argparse
import collections
import typing

import torch
from fairseq.distributed.utils import _TensorPlaceholder
from omegaconf import DictConfig, ListConfig
from omegaconf.base import ContainerMetadata, Metadata
from omegaconf.nodes import AnyNode

FAIRSEQ_CHECKPOINT_TYPES = [
    argparse.Namespace,
    # a checkpoint as fairseq broadcasts it: tensors sent apart (placeholders), the configuration as omegaconf
    DictConfig, ListConfig, ContainerMetadata, Metadata, AnyNode, typing.Any, collections.defaultdict, dict, list, int,
    _TensorPlaceholder,
]


def allow_fairseq_checkpoint_types() -> None:
    add_safe_globals = getattr(torch.serialization, "add_safe_globals", None)
    if add_safe_globals is not None:  # torch < 2.4 loads everything anyway
        add_safe_globals(FAIRSEQ_CHECKPOINT_TYPES)


allow_fairseq_checkpoint_types()
