"""FMMConfig and BlendConfig refuse bad settings, naming the field; backends refuse what their kernels lack."""
import re

import pytest
import torch

from fmm_attention import BlendConfig, FMMConfig, FMMOptionError, compiled
from fmm_attention.feature_maps import resolve_feature_maps
from fmm_attention.fmm import check_backend, compiled_lacks, kernels_lack, uses_triton


@pytest.mark.parametrize(
    "settings,option",
    [
        (dict(bandwidth=-1), "bandwidth"),
        (dict(feature_maps=("elu", "gelu")), "feature_maps"),
        (dict(bandwidth=0, feature_maps=()), "bandwidth"),
        (dict(chunk_size=0), "chunk_size"),
        (dict(chunk_size=-3), "chunk_size"),
    ],
)
def test_bad_config_names_the_option(settings, option):
    with pytest.raises(FMMOptionError) as error:
        FMMConfig(**settings)
    assert error.value.option == option
    assert option in str(error.value)


def test_bad_blend_names_the_option():
    with pytest.raises(FMMOptionError) as error:
        BlendConfig(granularity="layer")
    assert error.value.option == "granularity" and "channel, head" in str(error.value)


@pytest.mark.parametrize(
    "settings,option,message",
    [
        (dict(feature_maps=("taylor",)), "normalize_features", "signed"),
        (dict(feature_maps=("taylor", "elu"), normalize_features=False), "feature_maps", "cannot be mixed"),
        (dict(far_feature_dim=-1), "far_feature_dim", ">= 0"),
        (dict(far_feature_dim=16, feature_maps=()), "far_feature_dim", "needs feature maps"),
        (dict(train_min_bandwidth=-1), "train_min_bandwidth", ">= 0"),
        (dict(bandwidth=4, train_min_bandwidth=5), "train_min_bandwidth", "[1, bandwidth = 4]"),
        (dict(bandwidth=0, feature_maps=("elu",), train_min_bandwidth=1), "train_min_bandwidth", "[1, bandwidth = 0]"),
    ],
)
def test_bad_recall_settings_name_the_option(settings, option, message):
    with pytest.raises(FMMOptionError) as error:
        FMMConfig(**settings)
    assert error.value.option == option and message in error.value.message


def test_kernels_refuse_what_they_do_not_compute_and_auto_falls_back_to_torch():
    """Neither the Triton nor the compiled kernels compute taylor or softmax_flip, nor Triton a far projection:
    asked for, they are refused naming the backend; 'auto' runs the torch path for them."""
    for settings, lacking in [(dict(feature_maps=("taylor",), normalize_features=False), "the feature map 'taylor'"),
                              (dict(feature_maps=("softmax_flip",)), "the feature map 'softmax_flip'"),
                              (dict(far_feature_dim=16), "a far-field projection (far_feature_dim)")]:
        assert lacking in kernels_lack(FMMConfig(**settings))
        assert not uses_triton(FMMConfig(**settings), torch.zeros(1))
        with pytest.raises(FMMOptionError, match=rf"backend: the Triton kernels do not compute {re.escape(lacking)}"):
            check_backend(FMMConfig(backend="triton", **settings))
        if compiled.unavailable_reason() is None and "feature map" in lacking:
            assert lacking in compiled_lacks(FMMConfig(**settings))
            with pytest.raises(FMMOptionError, match=rf"backend: the compiled kernels do not compute {re.escape(lacking)}"):
                check_backend(FMMConfig(backend="compiled", **settings))
    assert compiled.map_codes(resolve_feature_maps(["taylor"])) is None
    assert compiled_lacks(FMMConfig(far_feature_dim=16)) == ""  # the compiled far field takes projected q, k
