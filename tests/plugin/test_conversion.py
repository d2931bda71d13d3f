"""Softmax checkpoints -> FMM: the conversion init, exactness with a covering band, strict loading, CLIs."""
import re
import subprocess

import pytest
import torch

from fmm_fairseq import conversion
from fmm_fairseq.modules import FMMMultiheadAttention
from fmm_tools.fairseq_models import build_model, numbered_dictionary
from fmm_tools.paths import BIN, ROOT



VOCAB = 30
LM_SIZE = {"decoder_layers": 2, "decoder_embed_dim": 32, "decoder_ffn_embed_dim": 64, "decoder_attention_heads": 4,
           "decoder_input_dim": 32, "decoder_output_dim": 32, "dropout": 0.0}
MT_SIZE = {"encoder_layers": 1, "decoder_layers": 1, "encoder_embed_dim": 32, "decoder_embed_dim": 32,
           "encoder_ffn_embed_dim": 64, "decoder_ffn_embed_dim": 64, "encoder_attention_heads": 2,
           "decoder_attention_heads": 2, "dropout": 0.0}
ROBERTA_SIZE = {"encoder_layers": 1, "encoder_embed_dim": 32, "encoder_ffn_embed_dim": 64,
                "encoder_attention_heads": 2, "max_positions": 64, "dropout": 0.0, "attention_dropout": 0.0}


def softmax_and_fmm(kind: str, **fmm):
    """A softmax model with non-trivial weights and the FMM model of the same size, not loaded yet."""
    torch.manual_seed(0)
    dictionary = numbered_dictionary(VOCAB)
    softmax_arch, fmm_arch, size = {
        "lm": ("transformer_lm", "fmmformer_lm", LM_SIZE), "mt": ("transformer", "fmmformer", MT_SIZE),
        "roberta": ("roberta_base", "fmm_roberta", ROBERTA_SIZE),
    }[kind]
    softmax = build_model(softmax_arch, dictionary, **size)
    with torch.no_grad():
        for parameter in softmax.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    return softmax.eval(), build_model(fmm_arch, dictionary, **size, **fmm).eval()


def outputs(model, kind: str, tokens: torch.Tensor) -> torch.Tensor:
    if kind == "lm":
        return model(tokens)[0]
    if kind == "mt":
        return model(tokens, torch.full((tokens.shape[0],), tokens.shape[1]), tokens[:, :-1])[0]
    return model(tokens)[0]


COVERING = {
    "lm": {"fmm_bandwidth": 40, "fmm_learn_far_weight": True},
    "mt": {"encoder_fmm_bandwidth": 40, "decoder_fmm_bandwidth": 40, "encoder_fmm_learn_far_weight": True,
           "decoder_fmm_learn_far_weight": True},
    "roberta": {"fmm_bandwidth": 40, "fmm_learn_far_weight": True},
}


@pytest.mark.parametrize("kind", ["lm", "mt", "roberta"])
def test_a_softmax_state_dict_loads_strictly_at_the_conversion_init_and_computes_the_same(kind):
    softmax, fmm = softmax_and_fmm(kind, **COVERING[kind])
    fmm.load_state_dict(softmax.state_dict(), strict=True)  # fairseq's load_state_dict upgrades first
    attentions = [m for m in fmm.modules() if isinstance(m, FMMMultiheadAttention)]
    assert len(attentions) == {"lm": 2, "mt": 2, "roberta": 1}[kind]
    for attention in attentions:
        assert attention.near_weight.min() == attention.near_weight.max() == 1
        assert attention.far_weight.abs().max() == 0 and attention.far_weight.requires_grad
    tokens = torch.randint(4, VOCAB + 4, (2, 30))
    torch.testing.assert_close(outputs(fmm, kind, tokens), outputs(softmax, kind, tokens), rtol=1e-5, atol=1e-5)


def test_a_shorter_band_differs_and_the_far_weight_gets_a_gradient():
    softmax, fmm = softmax_and_fmm("lm", fmm_bandwidth=4, fmm_learn_far_weight=True)
    fmm.load_state_dict(softmax.state_dict(), strict=True)
    tokens = torch.randint(4, VOCAB + 4, (2, 30))
    assert (outputs(fmm, "lm", tokens) - outputs(softmax, "lm", tokens)).abs().max() > 1e-3
    outputs(fmm, "lm", tokens).logsumexp(-1).sum().backward()
    assert all(m.far_weight.grad.abs().sum() > 0 for m in fmm.modules() if isinstance(m, FMMMultiheadAttention))


def test_legacy_in_proj_weights_are_split_into_q_k_v():
    softmax, fmm = softmax_and_fmm("lm", **COVERING["lm"])
    state = dict(softmax.state_dict())
    for layer in range(LM_SIZE["decoder_layers"]):
        prefix = f"decoder.layers.{layer}.self_attn."
        for suffix in ("weight", "bias"):
            state[prefix + "in_proj_" + suffix] = torch.cat([state.pop(f"{prefix}{p}_proj.{suffix}") for p in "qkv"])
    fmm.load_state_dict(state, strict=True)
    tokens = torch.randint(4, VOCAB + 4, (2, 30))
    torch.testing.assert_close(outputs(fmm, "lm", tokens), outputs(softmax, "lm", tokens), rtol=1e-5, atol=1e-5)


def test_a_fixed_far_weight_is_refused_with_the_option_to_add():
    softmax, fmm = softmax_and_fmm("lm")
    with pytest.raises(ValueError, match="--fmm-learn-far-weight"):
        fmm.load_state_dict(softmax.state_dict(), strict=True)


@pytest.mark.parametrize("change", ["missing", "unexpected"])
def test_anything_else_missing_or_unexpected_is_an_error_naming_the_key(change):
    softmax, fmm = softmax_and_fmm("lm", **COVERING["lm"])
    state = dict(softmax.state_dict())
    if change == "missing":
        del state["decoder.layers.1.fc1.weight"]
        key = "decoder.layers.1.fc1.weight"
    else:
        key = "decoder.layers.0.self_attn.extra_scale"
        state[key] = torch.ones(1)
    with pytest.raises(RuntimeError, match=key.replace(".", r"\.")):
        fmm.load_state_dict(state, strict=True)


# Through fairseq's CLIs on the tiny corpora.

def run(tool, *args):
    result = subprocess.run([str(BIN / tool), *map(str, args)], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"{tool} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout + result.stderr


def loss_line(output: str) -> str:
    return next(line for line in output.splitlines() if "Loss (base 2):" in line).split("eval_lm:")[-1]


CLI_LM_SIZE = ["--decoder-layers", "2", "--decoder-embed-dim", "32", "--decoder-ffn-embed-dim", "64",
               "--decoder-attention-heads", "4"]
SCHEDULE = ["--optimizer", "adam", "--lr", "0.003", "--cpu", "--seed", "1", "--dropout", "0", "--num-workers", "0",
            "--no-progress-bar", "--log-interval", "5"]


@pytest.fixture(scope="module")
def softmax_lm(tmp_path_factory):
    work = tmp_path_factory.mktemp("convert_lm")
    corpus = ROOT / "tests" / "data" / "tiny_lm"
    run("fairseq-preprocess", "--only-source", "--trainpref", corpus / "train.txt", "--validpref", corpus / "valid.txt",
        "--testpref", corpus / "test.txt", "--destdir", work / "data-bin", "--workers", "1")
    run("fairseq-train", work / "data-bin", "--task", "language_modeling", "--arch", "transformer_lm", *CLI_LM_SIZE,
        "--tokens-per-sample", "64", "--batch-size", "8", *SCHEDULE, "--max-update", "20", "--no-epoch-checkpoints",
        "--save-dir", work / "softmax")
    return work


def test_converted_language_model_scores_exactly_as_the_softmax_one(softmax_lm):
    work = softmax_lm
    assert conversion.main([str(work / "softmax" / "checkpoint_best.pt"), str(work / "fmm.pt"),
                                "--fmm-bandwidth", "64", "--max-target-positions", "256"]) == 0
    scores, outputs_at_64 = {}, {}
    for name, path in (("softmax", work / "softmax" / "checkpoint_best.pt"), ("fmm", work / "fmm.pt")):
        outputs_at_64[name] = run("fairseq-eval-lm", work / "data-bin", "--user-dir", "fmm_fairseq", "--path", path,
                                  "--gen-subset", "test", "--tokens-per-sample", "64", "--batch-size", "8", "--cpu")
        scores[name] = loss_line(outputs_at_64[name])
    assert scores["fmm"] == scores["softmax"], scores
    # --max-target-positions: the converted model scores 256-token samples (the softmax one skips them)
    longer = run("fairseq-eval-lm", work / "data-bin", "--user-dir", "fmm_fairseq", "--path", work / "fmm.pt",
                 "--gen-subset", "test", "--tokens-per-sample", "256", "--batch-size", "2", "--cpu")
    assert "skipped" not in longer.lower(), longer[-2000:]
    evaluated = re.compile(r"Evaluated ([\d,]+) tokens")
    assert evaluated.search(longer).group(1) == evaluated.search(outputs_at_64["fmm"]).group(1)  # every test token
    # and fine-tuning reads it
    log = run("fairseq-train", work / "data-bin", "--user-dir", "fmm_fairseq", "--task", "language_modeling",
              "--arch", "fmmformer_lm", *CLI_LM_SIZE, "--fmm-bandwidth", "64", "--fmm-learn-far-weight",
              "--tokens-per-sample", "64", "--batch-size", "8", *SCHEDULE, "--max-update", "3", "--no-save",
              "--finetune-from-model", work / "fmm.pt")
    assert "num_updates 3" in log


def test_learned_positions_of_a_language_model_are_extended_and_score_every_longer_sample(softmax_lm):
    """transformer_lm --decoder-learned-pos (64 positions) -> FMM with 256: the same loss at 64 tokens
    (a covering band), and every token scored at 256."""
    work = softmax_lm
    run("fairseq-train", work / "data-bin", "--task", "language_modeling", "--arch", "transformer_lm", *CLI_LM_SIZE,
        "--decoder-learned-pos", "--tokens-per-sample", "64", "--batch-size", "8", *SCHEDULE, "--max-update", "5",
        "--no-epoch-checkpoints", "--save-dir", work / "learned")
    assert conversion.main([str(work / "learned" / "checkpoint_best.pt"), str(work / "learned_fmm.pt"),
                            "--fmm-bandwidth", "64", "--max-target-positions", "256"]) == 0
    table = torch.load(work / "learned_fmm.pt", weights_only=False)["model"]["decoder.embed_positions.weight"]
    assert table.shape[0] == 256 + 2
    at_64 = {name: run("fairseq-eval-lm", work / "data-bin", "--user-dir", "fmm_fairseq", "--path", path, "--gen-subset",
                       "test", "--tokens-per-sample", "64", "--batch-size", "8", "--cpu")
             for name, path in (("softmax", work / "learned" / "checkpoint_best.pt"), ("fmm", work / "learned_fmm.pt"))}
    assert loss_line(at_64["fmm"]) == loss_line(at_64["softmax"])
    longer = run("fairseq-eval-lm", work / "data-bin", "--user-dir", "fmm_fairseq", "--path", work / "learned_fmm.pt",
                 "--gen-subset", "test", "--tokens-per-sample", "256", "--batch-size", "2", "--cpu")
    evaluated = re.compile(r"Evaluated ([\d,]+) tokens")
    assert evaluated.search(longer).group(1) == evaluated.search(at_64["fmm"]).group(1)


def test_fairseq_train_fine_tunes_from_a_softmax_checkpoint_directly(softmax_lm):
    work = softmax_lm
    common = ["fairseq-train", work / "data-bin", "--user-dir", "fmm_fairseq", "--task", "language_modeling",
              "--arch", "fmmformer_lm", *CLI_LM_SIZE, "--tokens-per-sample", "64", "--batch-size", "8", *SCHEDULE,
              "--max-update", "3", "--no-save", "--finetune-from-model", work / "softmax" / "checkpoint_best.pt"]
    log = run(*common, "--fmm-learn-far-weight")
    assert "num_updates 3" in log and "Loaded checkpoint" in log
    refused = subprocess.run([str(BIN / common[0]), *map(str, common[1:])], cwd=ROOT, capture_output=True, text=True)
    assert refused.returncode != 0 and "add --fmm-learn-far-weight" in refused.stderr
    assert "num_updates" not in refused.stdout + refused.stderr


def test_converted_translation_model_generates_the_same_hypotheses(tmp_path):
    corpus = ROOT / "tests" / "data" / "tiny_mt"
    data = tmp_path / "data-bin"
    run("fairseq-preprocess", "--source-lang", "en", "--target-lang", "es", "--trainpref", corpus / "train",
        "--validpref", corpus / "valid", "--testpref", corpus / "test", "--destdir", data, "--joined-dictionary",
        "--workers", "1")
    run("fairseq-train", data, "--task", "translation", "--arch", "transformer", "--encoder-layers", "1",
        "--decoder-layers", "1", "--encoder-embed-dim", "32", "--decoder-embed-dim", "32", "--encoder-ffn-embed-dim",
        "64", "--decoder-ffn-embed-dim", "64", "--encoder-attention-heads", "2", "--decoder-attention-heads", "2",
        "--share-all-embeddings", "--max-tokens", "512", *SCHEDULE, "--max-update", "30", "--no-epoch-checkpoints",
        "--save-dir", tmp_path / "softmax")
    assert conversion.main([str(tmp_path / "softmax" / "checkpoint_best.pt"), str(tmp_path / "fmm.pt"),
                                "--encoder-fmm-bandwidth", "1024", "--decoder-fmm-bandwidth", "1024"]) == 0
    hypotheses = {}
    for name, path in (("softmax", tmp_path / "softmax" / "checkpoint_best.pt"), ("fmm", tmp_path / "fmm.pt")):
        output = run("fairseq-generate", data, "--user-dir", "fmm_fairseq", "--path", path, "--beam", "5",
                     "--batch-size", "16", "--cpu")
        hypotheses[name] = sorted(line.split("\t") for line in output.splitlines() if line.startswith("H-"))
    assert len(hypotheses["fmm"]) == len(hypotheses["softmax"]) > 0
    for fmm, softmax in zip(hypotheses["fmm"], hypotheses["softmax"]):
        assert fmm[0] == softmax[0] and fmm[2] == softmax[2]  # sentence id, hypothesis tokens
        assert abs(float(fmm[1]) - float(softmax[1])) < 1e-4  # its score


@pytest.mark.parametrize("args,message", [
    (["--fmm-near-init", "0"], "--fmm-near-init: a converted model starts at the conversion init"),
    (["--encoder-fmm-bandwidth", "8"], "fmmformer_lm has no options --encoder-fmm-*"),
    (["--max-source-positions", "512"], "--max-source-positions: transformer_lm has no such option"),
    (["--max-target-positions", "32"], "--max-target-positions 32: below the model's 64 positions"),
    (["--fmm-bandwidth", "-3"], "--fmm-bandwidth"),
])
def test_bad_conversion_options_fail_and_write_nothing(softmax_lm, tmp_path, capsys, args, message):
    out = tmp_path / "fmm.pt"
    assert conversion.main([str(softmax_lm / "softmax" / "checkpoint_best.pt"), str(out), *args]) == 1
    assert message in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_an_fmm_checkpoint_converts_to_itself_keeping_its_blend_weights(softmax_lm, tmp_path, capsys):
    assert conversion.main([str(softmax_lm / "softmax" / "checkpoint_best.pt"), str(tmp_path / "once.pt")]) == 0
    assert conversion.main([str(tmp_path / "once.pt"), str(tmp_path / "twice.pt"), "--max-target-positions", "128"]) == 0
    once, twice = (torch.load(tmp_path / name, weights_only=False) for name in ("once.pt", "twice.pt"))
    assert twice["cfg"]["model"]["_name"] == "fmmformer_lm" and twice["cfg"]["model"]["max_target_positions"] == 128
    assert all(torch.equal(once["model"][key], twice["model"][key]) for key in once["model"])  # sinusoidal: no table
    assert conversion.main([str(tmp_path / "once.pt"), str(tmp_path / "x.pt"), "--fmm-near-init", "0"]) == 1
    assert "--fmm-near-init: an FMM model keeps its trained blend weights" in capsys.readouterr().err


def test_position_tables_grow_by_copies_or_random_rows_offsets_in_place():
    table = torch.arange(6 * 2, dtype=torch.float32).view(6, 2)  # 2 offset rows, 4 positions
    copied = conversion.extend_positions(table, 4, 10)
    assert copied.shape == (12, 2) and torch.equal(copied[:6], table)
    assert torch.equal(copied[6:10], table[2:]) and torch.equal(copied[10:], table[2:4])
    random = conversion.extend_positions(table, 4, 10, init="random")
    assert torch.equal(random[:6], table) and not torch.equal(random[6:10], table[2:])


# Attention transfer: only the blend weights learn, towards the softmax layer's output.

def test_transfer_loss_is_zero_with_a_covering_band_and_trains_only_the_blend():
    softmax, fmm = softmax_and_fmm("lm", **COVERING["lm"])
    fmm.load_state_dict(softmax.state_dict(), strict=True)
    attention = fmm.decoder.layers[0].self_attn
    x = torch.randn(30, 2, LM_SIZE["decoder_embed_dim"])
    assert attention.transfer_loss(x) < 1e-10  # near 1, far 0, band = the whole sequence: softmax itself

    _, short = softmax_and_fmm("lm", fmm_bandwidth=3, fmm_learn_far_weight=True)
    short.load_state_dict(softmax.state_dict(), strict=True)
    attention = short.decoder.layers[0].self_attn
    padding = torch.zeros(2, 30, dtype=torch.bool)
    padding[1, 25:] = True
    loss = attention.transfer_loss(x, padding)
    loss.backward()
    learned = {name for name, p in attention.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert learned == {"near_weight", "far_weight"}
    # the loss is the dense definition: out_proj applied to (fmm - full causal softmax), padded queries left out
    from fmm_attention import fmm_attention
    from fmm_attention.naive import dense_band_attention

    def heads(t):
        return t.view(30, 2, 4, 8).permute(1, 2, 0, 3)

    q, k, v = (heads(p(x)) for p in (attention.q_proj, attention.k_proj, attention.v_proj))
    want = dense_band_attention(q, k, v, 30, True, padding)
    got = fmm_attention(q, k, v, attention.config, attention.near_weight, attention.far_weight, padding)
    diff = torch.nn.functional.linear((got - want).permute(2, 0, 1, 3).reshape(30, 2, 32), attention.out_proj.weight)
    per_position = diff.pow(2).mean(-1)
    torch.testing.assert_close(loss, per_position[~padding.t()].mean(), rtol=1e-5, atol=1e-7)


def test_attention_transfer_through_fairseq_train_lowers_the_loss_and_keeps_the_rest(softmax_lm, tmp_path):
    work = softmax_lm
    assert conversion.main([str(work / "softmax" / "checkpoint_best.pt"), str(tmp_path / "fmm.pt"),
                                "--fmm-bandwidth", "4"]) == 0
    log = run("fairseq-train", work / "data-bin", "--user-dir", "fmm_fairseq", "--task", "language_modeling",
              "--arch", "fmmformer_lm", *CLI_LM_SIZE, "--fmm-bandwidth", "4", "--fmm-learn-far-weight",
              "--criterion", "fmm_attention_transfer", "--tokens-per-sample", "64", "--batch-size", "8",
              "--optimizer", "adam", "--lr", "0.05", "--cpu", "--seed", "1", "--dropout", "0", "--num-workers", "0",
              "--no-progress-bar", "--log-interval", "1", "--log-format", "json", "--max-update", "12",
              "--no-epoch-checkpoints", "--save-dir", tmp_path / "transfer", "--finetune-from-model", tmp_path / "fmm.pt")
    from fmm_tools.studies.fairseq_output import json_records

    losses = [float(record["loss"]) for record in json_records(log, "train_inner")]
    assert len(losses) == 12 and losses[-1] < losses[0], losses
    before = torch.load(tmp_path / "fmm.pt", map_location="cpu", weights_only=False)["model"]
    after = torch.load(tmp_path / "transfer" / "checkpoint_last.pt", map_location="cpu", weights_only=False)["model"]
    changed = {key for key in before if not torch.equal(before[key], after[key])}
    assert changed and all(key.endswith(("near_weight", "far_weight")) for key in changed), changed
