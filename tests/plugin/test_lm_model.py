"""fmmformer_lm as a fairseq model: incremental == full, causality, architectures, bad options, memory."""
import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from fmm_fairseq.models.fmmformer_lm import FMMformerLanguageModel
from fmm_fairseq.modules import FMMMultiheadAttention, FMMTransformerDecoder
from fmm_tools.fairseq_models import build_model, numbered_dictionary
from fmm_tools.paths import ROOT


def tiny_lm(**options):
    torch.manual_seed(0)
    model = build_model("fmmformer_lm_tiny", numbered_dictionary(50), tokens_per_sample=256, dropout=0.0, **options)
    for attention in model.modules():  # near weights other than their init
        if isinstance(attention, FMMMultiheadAttention):
            torch.nn.init.uniform_(attention.near_weight, 0.5, 1.5)
    return model.eval()


def test_every_self_attention_is_fmm_and_no_future_mask_is_built():
    model = tiny_lm()
    assert isinstance(model, FMMformerLanguageModel) and isinstance(model.decoder, FMMTransformerDecoder)
    assert all(isinstance(layer.self_attn, FMMMultiheadAttention) for layer in model.decoder.layers)
    assert model.decoder.buffered_future_mask(torch.zeros(5000, 1, 8)) is None


def assert_decoding_equals_forward(model, tokens):
    """Token by token through fairseq's incremental state, the logits of the full forward."""
    full, _ = model(tokens)
    incremental_state, steps = {}, []
    for t in range(tokens.shape[1]):
        logits, _ = model.decoder(tokens[:, : t + 1], incremental_state=incremental_state)
        steps.append(logits)
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=0, atol=1e-4)


def test_incremental_decoding_of_the_model_equals_full_forward():
    assert_decoding_equals_forward(tiny_lm(fmm_bandwidth=6), torch.randint(4, 54, (3, 40)))


def test_model_is_causal():
    model = tiny_lm()
    tokens = torch.randint(4, 54, (2, 50))
    changed = tokens.clone()
    changed[:, 30:] = torch.randint(4, 54, (2, 20))
    torch.testing.assert_close(model(tokens)[0][:, :30], model(changed)[0][:, :30], rtol=0, atol=1e-6)


def test_options_reach_every_layer():
    model = tiny_lm(fmm_bandwidth=7, fmm_feature_maps="tanh", fmm_blend="head", fmm_chunk_size=16)
    for layer in model.decoder.layers:
        attention = layer.self_attn
        assert attention.config.bandwidth == 7 and attention.config.feature_maps == ("tanh",)
        assert attention.config.chunk_size == 16 and attention.near_weight.shape == (4, 1, 1)


def fmm_attentions(model):
    return [module for module in model.modules() if isinstance(module, FMMMultiheadAttention)]


@pytest.mark.parametrize(
    "arch,prefixes,near_init", [("fmmformer_lm_tiny", ["fmm_"], 1.0), ("fmm_roberta_lra", ["fmm_"], 1.0),
                                ("fmmformer_tiny", ["encoder_fmm_", "decoder_fmm_"], 0.0)],
)
def test_default_near_weight_is_the_measured_better_init_and_the_other_is_one_option_away(arch, prefixes, near_init):
    """docs/seeds.md: for the language model starting the near weight at 1 beat the paper's 0; on the
    translation comparison (README) 0 won on both sides."""
    attentions = fmm_attentions(build_model(arch, numbered_dictionary(50)))
    assert len(attentions) >= len(prefixes)
    for attention in attentions:
        assert attention.config.feature_maps == ("elu", "elu_flip")
        assert attention.near_weight.min() == attention.near_weight.max() == near_init
        assert not attention.far_weight.requires_grad and attention.far_weight.min() == 1
    other = 1.0 - near_init
    flipped = fmm_attentions(build_model(arch, numbered_dictionary(50), **{p + "near_init": other for p in prefixes}))
    assert all(attention.near_weight.min() == attention.near_weight.max() == other for attention in flipped)


def test_default_language_model_layer_is_the_papers_setting():
    attention = build_model("fmmformer_lm_tiny", numbered_dictionary(50)).decoder.layers[0].self_attn
    assert attention.config.bandwidth == 20 and attention.config.feature_maps == ("elu", "elu_flip")
    assert attention.near_weight.shape == (4, 1, 32) and attention.config.normalize_features


@pytest.mark.parametrize("arch", ["fmmformer_lm", "fmmformer_lm_wiki103"])
def test_named_architectures_build_at_their_sizes(arch):
    sizes = {"fmmformer_lm": (6, 512, 8), "fmmformer_lm_wiki103": (16, 1024, 8)}[arch]
    overrides = {"adaptive_input_cutoff": "20,40", "adaptive_softmax_cutoff": "20,40"} if arch.endswith("wiki103") else {}
    model = build_model(arch, numbered_dictionary(60), **overrides)
    assert (len(model.decoder.layers), model.decoder.embed_dim, model.decoder.layers[0].self_attn.num_heads) == sizes
    if arch.endswith("wiki103"):
        assert model.decoder.adaptive_softmax is not None
    assert all(isinstance(layer.self_attn, FMMMultiheadAttention) for layer in model.decoder.layers)


def test_long_architecture_is_the_long_context_recipe_as_fairseq_train_parses_it():
    """--arch fmmformer_lm_long sets what the README's "Long context" recommends, with no flag given;
    the value options stay settable on the command line."""
    from fairseq import options

    def parsed(*flags):
        command = ["data-bin", "--task", "language_modeling", "--arch", "fmmformer_lm_long", *flags]
        return options.parse_args_and_arch(options.get_training_parser(), command)

    args = parsed()
    assert args.no_token_positional_embeddings and args.fmm_near_alibi and args.fmm_far_outside_band
    assert args.fmm_learn_far_weight and args.fmm_far_horizons == "32,1024" and args.decoder_layers == 6
    assert parsed("--fmm-far-horizons", "64", "--decoder-layers", "2").fmm_far_horizons == "64"
    learned = parsed("--decoder-learned-pos")  # positions asked for are given, not dropped without a word
    assert learned.decoder_learned_pos and not learned.no_token_positional_embeddings
    model = build_model("fmmformer_lm_long", numbered_dictionary(50), decoder_layers=1)
    assert model.decoder.embed_positions is None
    attention = model.decoder.layers[0].self_attn
    assert attention.config.near_alibi and attention.config.far_outside_band
    assert attention.config.far_horizons == (32.0, 1024.0) and attention.far_weight.requires_grad


@pytest.mark.parametrize(
    "options,flag",
    [
        ({"fmm_bandwidth": -2}, "--fmm-bandwidth"),
        ({"fmm_feature_maps": "elu,gelu"}, "--fmm-feature-maps"),
        ({"fmm_bandwidth": 0, "fmm_feature_maps": "none"}, "--fmm-bandwidth"),
        ({"fmm_chunk_size": 0}, "--fmm-chunk-size"),
        ({"fmm_feature_maps": "taylor"}, "--fmm-feature-norm"),
        ({"fmm_feature_maps": "taylor,elu", "fmm_feature_norm": "none"}, "--fmm-feature-maps"),
        ({"fmm_far_feature_dim": 16, "fmm_feature_maps": "none"}, "--fmm-far-feature-dim"),
        ({"fmm_train_min_bandwidth": 21}, "--fmm-train-min-bandwidth"),
        ({"fmm_feature_maps": "taylor", "fmm_feature_norm": "none", "fmm_backend": "compiled"}, "--fmm-backend"),
    ],
)
def test_bad_options_name_the_flag(options, flag):
    with pytest.raises(ValueError, match=flag):
        build_model("fmmformer_lm_tiny", numbered_dictionary(10), **options)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_triton_backend_without_cuda_is_refused_at_build_time(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    from fmm_attention import triton as kernels

    if kernels.triton_unavailable_reason() is None:
        pytest.skip("the Triton interpreter is active in this process")
    with pytest.raises(ValueError, match="--fmm-backend: 'triton' cannot run here"):
        build_model("fmmformer_lm_tiny", numbered_dictionary(10), fmm_backend="triton")


def test_long_sequence_forward_has_linear_memory():
    """16k tokens, no grad: fairseq's softmax LM of this size grows ~2 GiB, FMM must stay far below 1 GiB."""
    result = subprocess.run(
        [sys.executable, "-m", "fmm_tools.bench.memory", "--arch", "fmmformer_lm", "--tokens", "16384"],
        capture_output=True, text=True, check=True,
    )
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["finite"]
    assert measured["peak_growth_mib"] < 512, measured


def test_positions_limit_the_length_only_when_learned():
    from omegaconf import OmegaConf

    from fmm_fairseq.modules.fmm_transformer_stacks import UNLIMITED_POSITIONS

    dictionary = numbered_dictionary(20)
    size = dict(decoder_layers=1, decoder_embed_dim=16, decoder_ffn_embed_dim=32, decoder_attention_heads=2, max_target_positions=64)
    assert build_model("fmmformer_lm_tiny", dictionary, **size).max_positions() == UNLIMITED_POSITIONS  # sinusoidal
    assert build_model("fmmformer_lm_tiny", dictionary, no_token_positional_embeddings=True, **size).max_positions() == UNLIMITED_POSITIONS
    learned = build_model("fmmformer_lm_tiny", dictionary, decoder_learned_pos=True, **size)
    assert learned.max_positions() == 64
    learned.prepare_for_inference_(OmegaConf.create({"task": {"tokens_per_sample": 64}, "generation": {}}))
    with pytest.raises(ValueError, match=r"--tokens-per-sample 65 .* 64 learned positions \(--max-target-positions 64\).*fmm-convert CHECKPOINT OUT --max-target-positions 65"):
        learned.prepare_for_inference_(OmegaConf.create({"task": {"tokens_per_sample": 65}}))


BASED = dict(fmm_feature_maps="taylor", fmm_feature_norm="none", fmm_far_feature_dim=16)


def test_a_based_far_field_parses_trains_a_step_and_decodes_as_the_forward():
    """Based's far field (Taylor map on a learned 16-dim projection: 153 features) and a band shortened at
    random in training, from the generated options: fairseq-train parses them, a training step reaches the
    projections, decoding token by token equals the forward pass."""
    from fairseq import options

    command = ["data-bin", "--task", "language_modeling", "--arch", "fmmformer_lm_tiny", "--fmm-feature-maps", "taylor",
               "--fmm-feature-norm", "none", "--fmm-far-feature-dim", "16", "--fmm-train-min-bandwidth", "2"]
    args = options.parse_args_and_arch(options.get_training_parser(), command)
    assert (args.fmm_feature_maps, args.fmm_far_feature_dim, args.fmm_train_min_bandwidth) == ("taylor", 16, 2)
    model = tiny_lm(fmm_bandwidth=6, fmm_train_min_bandwidth=2, **BASED)
    attentions = fmm_attentions(model)
    assert all(a.far_projection.shape == (4, 32, 16) and a.config.far_features(32) == 153 for a in attentions)
    tokens = torch.randint(4, 54, (3, 40))
    model.train()
    logits, _ = model(tokens[:, :-1])
    F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1)).backward()
    before = [a.far_projection.detach().clone() for a in attentions]
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert all(not torch.equal(a.far_projection, old) for a, old in zip(attentions, before))
    assert_decoding_equals_forward(model.eval(), tokens)


def test_checkpoints_without_a_far_projection_load():
    """far_feature_dim 0 adds no parameter (checkpoints of before load as they are); a model that projects
    loads such a checkpoint with its initial projection."""
    plain = tiny_lm(fmm_feature_maps="taylor", fmm_feature_norm="none")
    state = plain.state_dict()
    assert not any("far_projection" in key for key in state)
    assert set(state) == set(tiny_lm().state_dict())
    projecting = tiny_lm(**BASED)
    projecting.load_state_dict(state)  # strict
    assert all(torch.equal(a.near_weight, b.near_weight) for a, b in zip(fmm_attentions(projecting), fmm_attentions(plain)))
