"""fmm_roberta: equal to a dense bidirectional reference under ragged padding, padding-invariant,
pooling, architectures and options."""
import pytest
import torch

import fmm_fairseq.modules.fmm_multihead_attention as fmm_layer
from fmm_attention.naive import dense_fmm_attention
from fmm_fairseq.models.fmm_roberta import FMMRobertaModel, mean_over_tokens
from fmm_fairseq.modules import FMMMultiheadAttention
from fmm_tools.fairseq_models import build_model, numbered_dictionary

DICTIONARY = numbered_dictionary(30)
PAD = DICTIONARY.pad()


def tiny_encoder(**options):
    torch.manual_seed(0)
    settings = dict(max_positions=64, dropout=0.0, attention_dropout=0.0, fmm_bandwidth=3, fmm_chunk_size=4)
    model = build_model("fmm_roberta_lra", DICTIONARY, **{**settings, **options})
    for attention in model.modules():  # both fields must count
        if isinstance(attention, FMMMultiheadAttention) and attention.near_weight is not None:
            torch.nn.init.uniform_(attention.near_weight, 0.5, 1.5)
    model.register_classification_head("cls", num_classes=4)
    return model.eval().double()


def ragged_batch(left: bool):
    """<s> w ... </s> rows of lengths 11, 6, 8, padded on the left or the right."""
    lengths = [11, 6, 8]
    tokens = torch.full((3, max(lengths)), PAD)
    generator = torch.Generator().manual_seed(2)
    for row, length in enumerate(lengths):
        sentence = torch.cat([torch.tensor([0]), torch.randint(4, 34, (length - 2,), generator=generator), torch.tensor([2])])
        if left:
            tokens[row, -length:] = sentence
        else:
            tokens[row, :length] = sentence
    return tokens, lengths


@pytest.mark.parametrize("left", [False, True])
@pytest.mark.parametrize("maps", ["elu,elu_flip", "none"])
def test_encoder_equals_the_dense_bidirectional_reference_with_ragged_padding(left, maps, monkeypatch):
    model = tiny_encoder(fmm_feature_maps=maps)
    tokens, _ = ragged_batch(left)
    features, _ = model(tokens, features_only=True)

    def dense(q, k, v, config, near_weight, far_weight, key_padding_mask=None, dropout_p=0.0):
        assert not config.causal  # the padding comes from the tokens, not from what the layer was given
        return dense_fmm_attention(q, k, v, config, near_weight, far_weight, tokens.eq(PAD))

    monkeypatch.setattr(fmm_layer, "fmm_attention", dense)  # every layer's attention, dense O(N^2)
    expected, _ = model(tokens, features_only=True)
    keep = tokens.ne(PAD)
    torch.testing.assert_close(features[keep], expected[keep], rtol=0, atol=1e-12)


@pytest.mark.parametrize("left", [False, True])
def test_outputs_at_real_tokens_do_not_change_with_more_padding(left):
    model = tiny_encoder()
    tokens, lengths = ragged_batch(left)
    features, _ = model(tokens, features_only=True)
    logits, _ = model(tokens, classification_head_name="cls")
    extra = torch.full((3, 7), PAD)
    more = torch.cat([extra, tokens], 1) if left else torch.cat([tokens, extra], 1)
    more_features, _ = model(more, features_only=True)
    more_logits, _ = model(more, classification_head_name="cls")
    keep = tokens.ne(PAD)
    torch.testing.assert_close(more_features[more.ne(PAD)], features[keep], rtol=0, atol=1e-12)
    torch.testing.assert_close(more_logits, logits, rtol=0, atol=1e-12)
    for row, length in enumerate(lengths):  # and equal to the sentence alone
        alone = tokens[row][keep[row]][None]
        torch.testing.assert_close(model(alone, features_only=True)[0][0], features[row][keep[row]], rtol=0, atol=1e-12)


def test_mean_pooling_reads_the_mean_of_real_tokens_and_first_pooling_the_first_token():
    tokens, _ = ragged_batch(left=False)
    for pooling in ("mean", "first"):
        model = tiny_encoder(classification_pooling=pooling)
        features, _ = model(tokens, features_only=True)
        head = model.classification_heads["cls"]
        logits, _ = model(tokens, classification_head_name="cls")
        if pooling == "mean":
            real = tokens.ne(PAD).unsqueeze(-1).double()
            pooled = (features * real).sum(1) / real.sum(1)
        else:
            pooled = features[:, 0]
        torch.testing.assert_close(logits, head(pooled[:, None]), rtol=0, atol=1e-12)


def test_mean_over_tokens_of_an_all_padded_row_is_zero():
    features = torch.randn(2, 5, 3)
    padding = torch.zeros(2, 5, dtype=torch.bool)
    padding[1] = True
    pooled = mean_over_tokens(features, padding)
    torch.testing.assert_close(pooled[0], features[0].mean(0))
    assert torch.equal(pooled[1], torch.zeros(3))


@pytest.mark.parametrize(
    "arch,sizes",
    [("fmm_roberta_base", (12, 768, 12, 3072)), ("fmm_roberta_large", (24, 1024, 16, 4096)), ("fmm_roberta_lra", (2, 64, 2, 128))],
)
def test_architectures_build_at_their_sizes(arch, sizes):
    model = build_model(arch, DICTIONARY, max_positions=32)
    encoder = model.encoder.sentence_encoder
    layer = encoder.layers[0]
    assert isinstance(model, FMMRobertaModel)
    assert (len(encoder.layers), encoder.embed_tokens.embedding_dim, layer.self_attn.num_heads, layer.fc1.out_features) == sizes
    assert all(isinstance(layer.self_attn, FMMMultiheadAttention) and not layer.self_attn.config.causal for layer in encoder.layers)
    lra = arch == "fmm_roberta_lra"
    assert layer.normalize_before == lra and (encoder.layer_norm is not None) == lra
    assert model.args.classification_pooling == ("mean" if lra else "first")
    assert layer.self_attn.config.bandwidth == (5 if lra else 20)


@pytest.mark.parametrize(
    "options,flag",
    [({"fmm_bandwidth": -1}, "--fmm-bandwidth"), ({"fmm_feature_maps": "gelu"}, "--fmm-feature-maps"),
     ({"classification_pooling": "max"}, "--classification-pooling")],
)
def test_bad_options_name_the_flag(options, flag):
    with pytest.raises(ValueError, match=flag):
        build_model("fmm_roberta_lra", DICTIONARY, max_positions=32, **options)
