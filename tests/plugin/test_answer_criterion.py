"""--criterion answer_cross_entropy: the loss counts exactly the answers (after a repeated key); fairseq-train
on a tiny MQAR set logs the accuracy; fmm-recall scores the checkpoint at the recorded answers."""
import json
import math
import re
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from fairseq.data import Dictionary
from fairseq.logging import metrics

from fmm_fairseq.criterions.answer_cross_entropy import AnswerCrossEntropyCriterion, repeated_tokens
from fmm_tools.data import prepare_mqar
from fmm_tools.eval import recall
from test_lm_cli import run


def dictionary(*symbols):
    d = Dictionary()
    for symbol in symbols or ("k0", "k1", "k2", "v0", "v1", "v2", "f0"):
        d.add_symbol(symbol)
    return d


class FixedLogits(torch.nn.Module):
    """A model whose output is a fixed (batch, length, vocab) tensor, as fairseq's LMs shape it."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.nn.Parameter(logits)

    def forward(self, src_tokens, src_lengths=None):
        return self.logits, {}

    def get_normalized_probs(self, net_output, log_probs, sample=None):
        return F.log_softmax(net_output[0].float(), dim=-1)

    def get_targets(self, sample, net_output):
        return sample["target"]


def batch(d, rows):
    """As language_modeling with --sample-break-mode eos collates lines: src = eos + line[:-1], target = line, padded."""
    length = max(len(row.split()) for row in rows)
    src = torch.full((len(rows), length), d.pad())
    target = torch.full((len(rows), length), d.pad())
    for b, row in enumerate(rows):
        tokens = [d.index(token) for token in row.split()]
        src[b, : len(tokens)] = torch.tensor([d.eos()] + tokens[:-1])
        target[b, : len(tokens)] = torch.tensor(tokens)
    return {"net_input": {"src_tokens": src, "src_lengths": src.ne(d.pad()).sum(1)}, "target": target,
            "ntokens": int(target.ne(d.pad()).sum())}


def criterion(d, prefix="k"):
    return AnswerCrossEntropyCriterion(SimpleNamespace(source_dictionary=d, target_dictionary=d), prefix)


def test_repeats_are_every_occurrence_but_the_first():
    tokens = torch.tensor([[5, 6, 5, 7, 5, 6], [1, 1, 1, 2, 3, 2]])
    expected = torch.tensor([[0, 0, 1, 0, 1, 1], [0, 1, 1, 0, 0, 1]], dtype=torch.bool)
    assert torch.equal(repeated_tokens(tokens), expected)


def test_the_loss_is_the_cross_entropy_of_the_answers_alone():
    d = dictionary()
    rows = ["k0 v0 k1 v1 f0 k1 v1 k0 v0",  # answers after the second k1 (v1) and the second k0 (v0); v1 repeats: no answer
            "k2 v2 f0 k2 v1"]  # one answer (v1, a wrong value: still the target), then padding
    sample = batch(d, rows)
    torch.manual_seed(0)
    logits = torch.randn(2, 9, len(d))
    logits[0, 6, d.index("v1")] = logits[0, 8, d.index("v1")] = logits[1, 4, d.index("v1")] = 10.0  # right, wrong, right
    model = FixedLogits(logits)
    answers = [(0, 6, "v1"), (0, 8, "v0"), (1, 4, "v1")]
    c = criterion(d)
    mask = c.answer_mask(sample["net_input"]["src_tokens"], sample["target"])
    assert sorted(map(tuple, mask.nonzero().tolist())) == [(b, t) for b, t, _ in answers]
    loss, sample_size, log = c(model, sample)
    by_hand = -sum(F.log_softmax(logits[b, t], -1)[d.index(value)] for b, t, value in answers)
    assert torch.allclose(loss, by_hand) and sample_size == 3
    assert (log["answers"], log["n_correct"], log["nsentences"], log["ntokens"]) == (3, 2, 2, 14)
    loss.backward()
    touched = model.logits.grad.abs().sum(-1).nonzero().tolist()
    assert sorted(map(tuple, touched)) == [(b, t) for b, t, _ in answers]  # no gradient anywhere else
    per_answer, _, _ = c(model, sample, reduce=False)
    assert per_answer.shape == (3,) and torch.allclose(per_answer.sum(), by_hand)

    with metrics.aggregate() as aggregate:
        AnswerCrossEntropyCriterion.reduce_metrics([log, {**log, "loss": log["loss"] * 0, "n_correct": 0}])
        values = aggregate.get_smoothed_values()
    assert values["accuracy"] == round(2 / 6, 4) and values["answers"] == 6
    assert values["loss"] == pytest.approx(float(by_hand) / 6 / math.log(2), abs=1e-3)
    assert values["ppl"] == pytest.approx(2 ** values["loss"], rel=1e-2)


def test_a_batch_without_answers_gives_zero():
    d = dictionary()
    sample = batch(d, ["k0 v0 k1 v1 f0 f0", "v1 v1 f0 k2"])  # keys seen once only
    model = FixedLogits(torch.randn(2, 6, len(d)))
    loss, sample_size, log = criterion(d)(model, sample)
    assert float(loss) == 0 and sample_size == 0 and log["answers"] == log["n_correct"] == 0
    loss.backward()  # attached to the graph, zero gradients: fairseq divides them by (sample_size or 1.0)
    assert not model.logits.grad.any()
    with metrics.aggregate() as aggregate:
        AnswerCrossEntropyCriterion.reduce_metrics([log])
        values = aggregate.get_smoothed_values()
    assert values["loss"] == 0 and math.isnan(values["accuracy"])


def test_another_prefix_and_a_prefix_no_symbol_has():
    d = dictionary("key7", "val7", "k")
    c = criterion(d, "key")
    assert c.is_key.tolist() == [False] * 4 + [True, False, False]
    with pytest.raises(ValueError, match="--answer-key-prefix 'q'"):
        criterion(d, "q")


T, P, V = 32, 4, 64


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny MQAR set (T=32, P=4, V=64) and fmmformer_lm_tiny trained on it for 20 updates."""
    work = tmp_path_factory.mktemp("mqar")
    data = work / "mqar"
    assert prepare_mqar.main(["--length", str(T), "--pairs", str(P), "--vocab", str(V), "--train-lines", "320",
                              "--valid-lines", "32", "--test-lines", "12", "--destdir", str(data), "--workers", "1"]) == 0
    log = run(
        "fairseq-train", data, "--user-dir", "fmm_fairseq", "--task", "language_modeling", "--arch", "fmmformer_lm_tiny",
        "--fmm-bandwidth", "8", "--decoder-embed-dim", "32", "--decoder-ffn-embed-dim", "64",
        "--criterion", "answer_cross_entropy", "--sample-break-mode", "eos", "--tokens-per-sample", str(T + 1),
        "--batch-size", "16", "--required-batch-size-multiple", "1", "--optimizer", "adam", "--lr", "0.003",
        "--max-update", "20", "--log-interval", "5", "--cpu", "--no-progress-bar", "--seed", "1",
        "--save-dir", work / "checkpoints",
    )
    return data, work / "checkpoints", log


def test_fairseq_train_logs_the_accuracy_at_the_answers(trained):
    _, checkpoints, log = trained
    assert (checkpoints / "checkpoint_last.pt").is_file()
    valid = re.findall(r"valid on 'valid' subset .*", log)
    assert valid and all(re.search(r"\| accuracy [\d.]+ ", line) for line in valid), log[-3000:]
    assert re.search(r"\| answers 128 ", valid[-1])  # 32 lines x 4 queries
    losses = [float(x) for x in re.findall(r"train_inner .* loss=([\d.]+)", log)]
    assert len(losses) >= 3 and all(math.isfinite(x) for x in losses)


def test_recall_scores_the_recorded_answers(trained, tmp_path, capsys):
    data, checkpoints, _ = trained
    out = tmp_path / "recall"
    assert recall.main([str(data), "--path", str(checkpoints / "checkpoint_last.pt"), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    record = json.loads(out.with_suffix(".json").read_text())
    answers = prepare_mqar.read_answers(data / "text" / "test.answers.jsonl")
    gaps = sorted(gap for line in answers for _, gap, _ in line)
    buckets = record["checkpoints"][0]["buckets"]
    assert sum(row["queries"] for row in buckets) == 12 * P
    assert record["edges"] == [0, 8, 16, T - 1]  # the first edge at the band; the last past the longest gap, T - 2
    for row in buckets:
        assert row["queries"] == sum(row["first"] <= gap <= row["last"] for gap in gaps)
    assert f"chance {1 / (V // 2):.3f}" in printed and record["chance"] == 1 / (V // 2)
