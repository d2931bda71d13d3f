"""FMMConfig and BlendConfig refuse bad settings, naming the field."""
import pytest

from fmm_attention import BlendConfig, FMMConfig, FMMOptionError


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
