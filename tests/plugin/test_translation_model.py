"""fmmformer (translation): encoder padding, decoder steps == full forward, beam reordering, options."""
import pytest
import torch
from fairseq.modules import MultiheadAttention

from fmm_fairseq.models.fmmformer import FMMformerModel
from fmm_fairseq.modules import FMMMultiheadAttention
from fmm_tools.fairseq_models import build_model, numbered_dictionary

DICTIONARY = numbered_dictionary(40)
PAD = DICTIONARY.pad()


def tiny_translation_model(**options):
    torch.manual_seed(0)
    sizes = dict(encoder_embed_dim=32, encoder_ffn_embed_dim=64, encoder_layers=2, encoder_attention_heads=4, decoder_layers=2)
    settings = dict(encoder_fmm_bandwidth=3, decoder_fmm_bandwidth=4, dropout=0.0, **sizes)
    model = build_model("fmmformer_tiny", DICTIONARY, **{**settings, **options})
    for attention in model.modules():  # make the near field count (it starts at 0 like the paper)
        if isinstance(attention, FMMMultiheadAttention):
            torch.nn.init.uniform_(attention.near_weight, 0.5, 1.5)
    return model.eval()


def source_batch():
    """Three sources, left-padded as fairseq's translation task pads them."""
    lengths = [9, 5, 7]
    tokens = torch.full((3, max(lengths)), PAD)
    for row, length in enumerate(lengths):
        tokens[row, -length:] = torch.randint(4, 44, (length,))
    return tokens, torch.tensor(lengths)


def test_layers_use_fmm_self_attention_and_softmax_encoder_attention():
    model = tiny_translation_model()
    assert isinstance(model, FMMformerModel)
    assert all(isinstance(layer.self_attn, FMMMultiheadAttention) and not layer.self_attn.config.causal for layer in model.encoder.layers)
    for layer in model.decoder.layers:
        assert isinstance(layer.self_attn, FMMMultiheadAttention) and layer.self_attn.config.causal
        assert isinstance(layer.encoder_attn, MultiheadAttention)
    assert model.encoder.layers[0].self_attn.config.bandwidth == 3 and model.decoder.layers[0].self_attn.config.bandwidth == 4


def test_encoder_ignores_source_padding():
    model = tiny_translation_model()
    tokens, lengths = source_batch()
    padded = model.encoder(tokens, lengths)["encoder_out"][0]
    for row, length in enumerate(lengths.tolist()):
        alone = model.encoder(tokens[row : row + 1, -length:], lengths[row : row + 1])["encoder_out"][0]
        torch.testing.assert_close(padded[-length:, row], alone[:, 0], rtol=0, atol=1e-5)


def test_decoder_steps_equal_full_forward_with_source_padding_and_beam_reordering():
    model = tiny_translation_model()
    tokens, lengths = source_batch()
    beam = 2
    order = torch.arange(3).repeat_interleave(beam)  # as SequenceGenerator expands sources to beams
    encoder_out = model.encoder.reorder_encoder_out(model.encoder(tokens, lengths), order)
    rows, steps = 3 * beam, 14
    generator = torch.Generator().manual_seed(1)
    histories = torch.full((rows, 1), DICTIONARY.eos())
    incremental_state, outputs = {}, [[] for _ in range(rows)]
    for t in range(steps):
        if t > 0 and t % 4 == 0:  # beam search keeps some of a sentence's hypotheses twice, drops others
            new_order = order * beam + torch.randint(0, beam, (rows,), generator=generator)
            model.decoder.reorder_incremental_state_scripting(incremental_state, new_order)
            encoder_out = model.encoder.reorder_encoder_out(encoder_out, new_order)
            histories = histories[new_order]
            outputs = [list(outputs[i]) for i in new_order.tolist()]
        logits, _ = model.decoder(histories, encoder_out=encoder_out, incremental_state=incremental_state)
        for row in range(rows):
            outputs[row].append(logits[row, 0])
        histories = torch.cat([histories, torch.randint(4, 44, (rows, 1), generator=generator)], dim=1)
    full, _ = model.decoder(histories[:, :-1], encoder_out=encoder_out)
    torch.testing.assert_close(torch.stack([torch.stack(o) for o in outputs]), full, rtol=0, atol=1e-5)


def test_decoder_is_causal():
    model = tiny_translation_model()
    tokens, lengths = source_batch()
    encoder_out = model.encoder(tokens, lengths)
    target = torch.randint(4, 44, (3, 20))
    changed = target.clone()
    changed[:, 12:] = torch.randint(4, 44, (3, 8))
    first, _ = model.decoder(target, encoder_out=encoder_out)
    second, _ = model.decoder(changed, encoder_out=encoder_out)
    torch.testing.assert_close(first[:, :12], second[:, :12], rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "arch,layers,dim,heads,ffn",
    [("fmmformer_iwslt_de_en", 6, 512, 4, 1024), ("fmmformer_wmt_en_de", 6, 512, 8, 2048), ("fmmformer_tiny", 3, 256, 4, 1024)],
)
def test_architectures_mirror_fairseq_sizes(arch, layers, dim, heads, ffn):
    model = build_model(arch, DICTIONARY)
    for stack in (model.encoder, model.decoder):
        assert len(stack.layers) == layers
        attention = stack.layers[0].self_attn
        assert (attention.embed_dim, attention.num_heads, stack.layers[0].fc1.out_features) == (dim, heads, ffn)
        assert attention.config.bandwidth == 20 and attention.config.feature_maps == ("elu", "elu_flip")


@pytest.mark.parametrize(
    "options,flag",
    [
        ({"encoder_fmm_bandwidth": -1}, "--encoder-fmm-bandwidth"),
        ({"decoder_fmm_feature_maps": "elu,cosine"}, "--decoder-fmm-feature-maps"),
        ({"decoder_fmm_bandwidth": 0, "decoder_fmm_feature_maps": "none"}, "--decoder-fmm-bandwidth"),
        ({"encoder_fmm_chunk_size": 0}, "--encoder-fmm-chunk-size"),
    ],
)
def test_bad_options_name_the_flag(options, flag):
    with pytest.raises(ValueError, match=flag):
        build_model("fmmformer_tiny", DICTIONARY, **options)
