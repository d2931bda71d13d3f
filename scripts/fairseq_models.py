"""Build a registered fairseq model without a data directory (tests, benchmarks, studies)."""
import argparse
import dataclasses
from typing import Optional

from fairseq.data import Dictionary
from fairseq.models import ARCH_CONFIG_REGISTRY, ARCH_MODEL_NAME_REGISTRY, ARCH_MODEL_REGISTRY, MODEL_DATACLASS_REGISTRY

import fmm_fairseq  # noqa: F401  (registers the FMM models)


class DictionaryTask:
    """The two attributes a model's ``build_model`` reads from its task."""

    def __init__(self, source_dictionary: Dictionary, target_dictionary: Optional[Dictionary] = None):
        self.source_dictionary = source_dictionary
        self.target_dictionary = target_dictionary or source_dictionary


def numbered_dictionary(size: int) -> Dictionary:
    """A fairseq dictionary of ``size`` symbols w0..w{size-1} (plus the 4 special ones)."""
    dictionary = Dictionary()
    for index in range(size):
        dictionary.add_symbol(f"w{index}")
    return dictionary


def build_model(arch: str, dictionary: Dictionary, target_dictionary: Optional[Dictionary] = None, **overrides):
    """Like fairseq-train: the architecture function, then the model dataclass's defaults.

    ``dictionary`` serves as source and, unless ``target_dictionary`` is given, target. For language
    models ``tokens_per_sample`` (a task option) defaults to 1024 as in fairseq's language_modeling.
    """
    args = argparse.Namespace(**{"tokens_per_sample": 1024, **overrides})
    ARCH_CONFIG_REGISTRY[arch](args)
    model_dataclass = MODEL_DATACLASS_REGISTRY.get(ARCH_MODEL_NAME_REGISTRY[arch])
    if model_dataclass is not None:
        for config_field in dataclasses.fields(model_dataclass):
            if not hasattr(args, config_field.name) and not config_field.name.startswith("_"):
                default = config_field.default
                if default is dataclasses.MISSING:
                    default = config_field.default_factory()
                if isinstance(default, str) and default.startswith("${"):
                    default = None  # an interpolation of a task option (e.g. tokens_per_sample)
                setattr(args, config_field.name, default)
    return ARCH_MODEL_REGISTRY[arch].build_model(args, DictionaryTask(dictionary, target_dictionary))
