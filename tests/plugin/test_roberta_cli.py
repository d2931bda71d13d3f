"""fmm_roberta through fairseq's own CLIs on tiny committed corpora: masked_lm pretraining and the
hub's fill_mask; ListOps binarised from LRA-format TSVs, sentence_prediction fine-tuned from the
masked-LM checkpoint, fairseq-validate, and the hub's predict agreeing with fairseq-validate."""
import re
import subprocess
import sys

import pytest
import torch

from fmm_fairseq import conversion
from fmm_tools.paths import BIN, ROOT


COMMON = [
    "--user-dir", "fmm_fairseq", "--arch", "fmm_roberta_lra", "--optimizer", "adam", "--lr", "0.003",
    "--cpu", "--no-progress-bar", "--log-interval", "5", "--seed", "1", "--no-epoch-checkpoints", "--num-workers", "0",
]
LISTOPS = ["--num-classes", "10", "--init-token", "0", "--max-positions", "128", "--criterion", "sentence_prediction"]


def run(command):
    result = subprocess.run([str(c) for c in command], cwd=ROOT, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise AssertionError(f"{command[0]} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout + result.stderr


def losses(log):
    return [float(x) for x in re.findall(r"train_inner \|.* loss=([\d.]+),", log)]


@pytest.fixture(scope="module")
def text_mlm(tmp_path_factory):
    """tests/data/tiny_lm with a small sentencepiece vocabulary; masked_lm for 30 updates."""
    work = tmp_path_factory.mktemp("mlm")
    data = work / "data-bin"
    run([str(BIN / "fmm-prepare-lm"), "--raw-dir", ROOT / "tests/data/tiny_lm", "--vocab-size", "300", "--destdir", data, "--workers", "1"])
    log = run([
        BIN / "fairseq-train", data, "--task", "masked_lm", *COMMON, "--tokens-per-sample", "64", "--batch-size", "8",
        "--max-update", "30", "--save-dir", work / "checkpoints",
    ])
    return data, work / "checkpoints", log


def test_masked_lm_trains_fmm_layers_and_the_loss_falls(text_mlm):
    _, checkpoints, log = text_mlm
    assert "FMMMultiheadAttention" in log and (checkpoints / "checkpoint_best.pt").exists()
    curve = losses(log)
    assert len(curve) >= 4 and curve[-1] < curve[0]


def test_hub_fill_mask_with_sentencepiece(text_mlm):
    from fmm_fairseq.models.fmm_roberta import FMMRobertaHubInterface, FMMRobertaModel

    data, checkpoints, _ = text_mlm
    hub = FMMRobertaModel.from_pretrained(
        str(checkpoints), "checkpoint_best.pt", str(data), bpe="sentencepiece", sentencepiece_model=str(data / "spm.model")
    ).eval()
    assert isinstance(hub, FMMRobertaHubInterface)
    filled = hub.fill_mask("the kernel uses the <mask> to", topk=3)  # fairseq drops special symbols among the 3
    assert 1 <= len(filled) <= 3 and all("<mask>" not in text and text.startswith("the kernel uses the") for text, _, _ in filled)
    probabilities = [p for _, p, _ in filled]
    assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1 + 1e-6


@pytest.fixture(scope="module")
def listops_finetuned(tmp_path_factory):
    """LRA-format TSVs -> input0/label; masked_lm on input0, then sentence_prediction restored from it."""
    work = tmp_path_factory.mktemp("listops")
    data = work / "listops"
    prepared = run([str(BIN / "fmm-prepare-listops"), "--raw-dir", ROOT / "tests/data/tiny_listops", "--destdir", data, "--workers", "1"])
    run([
        BIN / "fairseq-train", data / "input0", "--task", "masked_lm", *COMMON, "--tokens-per-sample", "128",
        "--batch-size", "8", "--max-update", "10", "--save-dir", work / "mlm",
    ])
    log = run([
        BIN / "fairseq-train", data, "--task", "sentence_prediction", *COMMON, *LISTOPS, "--batch-size", "16",
        "--max-update", "60", "--restore-file", work / "mlm" / "checkpoint_best.pt", "--reset-optimizer",
        "--reset-dataloader", "--reset-meters", "--save-dir", work / "classifier", "--best-checkpoint-metric", "accuracy",
        "--maximize-best-checkpoint-metric",
    ])
    return data, work / "classifier", log, prepared


def test_listops_binarised_from_lra_tsvs(listops_finetuned):
    from fairseq.data import Dictionary, data_utils

    data, _, _, prepared = listops_finetuned
    assert "train 400, valid 60, test 60 examples" in prepared
    labels = Dictionary.load(str(data / "label" / "dict.txt"))
    assert [labels[labels.nspecial + k] for k in range(10)] == [str(k) for k in range(10)]  # class k is the digit k
    dictionary = Dictionary.load(str(data / "input0" / "dict.txt"))
    test = data_utils.load_indexed_dataset(str(data / "input0" / "test"), dictionary)
    first_row = (ROOT / "tests/data/tiny_listops/basic_test.tsv").read_text().splitlines()[1].split("\t")[0]
    assert dictionary.string(test[0]) == " ".join(t for t in first_row.split() if t not in "()")


def test_sentence_prediction_restores_the_masked_lm_and_trains(listops_finetuned):
    _, classifier, log, _ = listops_finetuned
    assert re.search(r"Loaded checkpoint .*mlm/checkpoint_best\.pt", log)
    assert "Overwriting classification_heads.sentence_classification_head" in log
    curve = losses(log)
    assert len(curve) >= 6 and curve[-1] < curve[0]
    assert re.search(r"valid \|.* accuracy [\d.]+", log) and (classifier / "checkpoint_best.pt").exists()


def test_fairseq_validate_and_hub_predict_agree(listops_finetuned):
    from fmm_tools.data import listops
    from fmm_fairseq.models.fmm_roberta import FMMRobertaModel

    data, classifier, _, _ = listops_finetuned
    log = run([
        BIN / "fairseq-validate", data, "--user-dir", "fmm_fairseq", "--task", "sentence_prediction", *LISTOPS,
        "--path", classifier / "checkpoint_best.pt", "--valid-subset", "test", "--batch-size", "16", "--cpu",
        "--required-batch-size-multiple", "1",  # fairseq's default 8 drops the last batch's remainder (4 of 60 here)
    ])
    assert re.search(r"valid on 'test' subset \|.* bsz 60\b", log)
    accuracy = float(re.search(r"valid on 'test' subset \|.* accuracy ([\d.]+)", log).group(1))
    hub = FMMRobertaModel.from_pretrained(str(classifier), "checkpoint_best.pt", str(data)).eval()
    examples = listops.read_tsv(ROOT / "tests/data/tiny_listops/basic_test.tsv")
    with torch.no_grad():
        predicted = [hub.predict("sentence_classification_head", hub.encode(text)).argmax(-1).item() for text, _ in examples]
    hub_accuracy = 100 * sum(p == label for p, (_, label) in zip(predicted, examples)) / len(examples)
    assert abs(hub_accuracy - accuracy) < 0.05, (hub_accuracy, accuracy)  # fairseq rounds to 0.1
    assert hub.encode("[MAX 2 9 ]").tolist()[0] == 0  # <s> first, as --init-token 0 in training


def mlm_loss(data, checkpoint, tokens):
    """fairseq-validate --task masked_lm on valid: the loss line (masks drawn from --seed 1, the same for every model)."""
    log = run([
        BIN / "fairseq-validate", data, "--user-dir", "fmm_fairseq", "--task", "masked_lm", "--path", checkpoint,
        "--tokens-per-sample", tokens, "--batch-size", "8", "--cpu", "--seed", "1", "--required-batch-size-multiple", "1",
    ])
    return float(re.search(r"valid on 'valid' subset \| loss ([\d.]+)", log).group(1))


@pytest.fixture(scope="module")
def softmax_mlm(text_mlm, tmp_path_factory):
    """fairseq's own RoBERTa (softmax, learned positions, 64 of them) after 10 masked-LM updates."""
    data, _, _ = text_mlm
    work = tmp_path_factory.mktemp("softmax_mlm")
    run([
        BIN / "fairseq-train", data, "--task", "masked_lm", "--arch", "roberta_base", "--encoder-layers", "1",
        "--encoder-embed-dim", "32", "--encoder-ffn-embed-dim", "64", "--encoder-attention-heads", "2",
        "--optimizer", "adam", "--lr", "0.003", "--cpu", "--seed", "1", "--num-workers", "0", "--no-epoch-checkpoints",
        "--tokens-per-sample", "64", "--batch-size", "8", "--max-update", "10", "--save-dir", work,
    ])
    return data, work / "checkpoint_best.pt"


def masked_lm_logits(data, checkpoint, tokens):
    """The model's masked-LM logits on ``tokens`` (loaded by fairseq, as fairseq-validate loads it)."""
    from fairseq import checkpoint_utils

    models, _, _ = checkpoint_utils.load_model_ensemble_and_task([str(checkpoint)], arg_overrides={"data": str(data)})
    with torch.no_grad():
        return models[0].eval()(tokens)[0]


@pytest.mark.parametrize("band", [64, 5])
def test_extended_positions_keep_the_loss_on_inputs_within_the_old_length(softmax_mlm, tmp_path, band):
    """softmax RoBERTa -> FMM with 4x the positions, copied (padding offset rows untouched): within 64 tokens
    and a covering band it is the softmax model (logits to 1e-5, fairseq-validate's loss line equal); a
    5-token band is not."""
    data, softmax = softmax_mlm
    longer = tmp_path / "longer.pt"
    assert conversion.main([str(softmax), str(longer), "--fmm-bandwidth", str(band), "--max-positions", "256"]) == 0
    state = torch.load(longer, weights_only=False)
    table = state["model"]["encoder.sentence_encoder.embed_positions.weight"]
    original = torch.load(softmax, weights_only=False)["model"]["encoder.sentence_encoder.embed_positions.weight"]
    assert table.shape[0] == 256 + 2 and vars(state["cfg"]["model"])["max_positions"] == 256  # RoBERTa keeps a Namespace
    assert torch.equal(table[:66], original) and torch.equal(table[66:130], original[2:])  # offset rows kept, copies
    words = 4 + len((data / "dict.txt").read_text().splitlines())  # <s> <pad> </s> <unk>, then the dictionary
    tokens = torch.cat([torch.zeros(3, 1, dtype=torch.long), torch.randint(4, words, (3, 63), generator=torch.Generator().manual_seed(0))], 1)
    close = torch.allclose(masked_lm_logits(data, longer, tokens), masked_lm_logits(data, softmax, tokens), atol=1e-5, rtol=0)
    assert close == (band == 64)
    if band == 64:
        assert mlm_loss(data, longer, 64) == mlm_loss(data, softmax, 64)


def test_fmm_roberta_grows_longer_and_trains_reads_and_predicts_at_the_new_length(text_mlm, tmp_path, capsys):
    data, checkpoints, _ = text_mlm
    longer = tmp_path / "longer.pt"
    assert conversion.main([str(checkpoints / "checkpoint_best.pt"), str(longer), "--max-positions", "256"]) == 0
    assert "position tables extended (copy)" in capsys.readouterr().out
    assert mlm_loss(data, longer, 64) == mlm_loss(data, checkpoints / "checkpoint_best.pt", 64)  # FMM -> longer FMM
    mlm_loss(data, longer, 256)  # reads 256-token samples
    log = run([BIN / "fairseq-train", data, "--task", "masked_lm", *COMMON, "--tokens-per-sample", "256", "--max-positions",
               "256", "--batch-size", "2", "--max-update", "2", "--restore-file", longer, "--reset-optimizer",
               "--reset-dataloader", "--reset-meters", "--save-dir", tmp_path / "continued"])
    assert "num_updates 2" in log or re.search(r"num_updates[ =]2\b", log)
    from fmm_fairseq.models.fmm_roberta import FMMRobertaModel

    hub = FMMRobertaModel.from_pretrained(str(tmp_path), "longer.pt", str(data), bpe="sentencepiece",
                                          sentencepiece_model=str(data / "spm.model")).eval()
    text = " ".join(["the kernel uses the memory to"] * 20)  # 202 pieces, past the original 64 positions
    assert 64 < len(hub.encode(text)) <= 256
    with torch.no_grad():
        features = hub.extract_features(hub.encode(text))
    assert torch.isfinite(features).all()
    filled = hub.fill_mask(text + " the <mask> to", topk=1)  # the mask past the original 64 positions
    assert len(filled) == 1 and filled[0][0].startswith(text[:40])
    assert conversion.main([str(longer), str(tmp_path / "shorter.pt"), "--max-positions", "128"]) == 1
    assert "--max-positions 128: below the model's 256 positions" in capsys.readouterr().err
