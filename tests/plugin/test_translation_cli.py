"""Translation end to end on the tiny committed EN-ES corpus: prepare, train, generate, interactive, BLEU."""
import re
import subprocess
import sys

import pytest
import torch

from fmm_tools.paths import BIN, ROOT

CORPUS = ROOT / "tests" / "data" / "tiny_mt"

SIZES = [
    "--encoder-embed-dim", "64", "--encoder-ffn-embed-dim", "128", "--encoder-layers", "2", "--decoder-layers", "2",
    "--encoder-attention-heads", "4", "--decoder-attention-heads", "4", "--share-all-embeddings",
]
TRAIN = [
    "--user-dir", "fmm_fairseq", "--task", "translation", "--arch", "fmmformer_tiny", *SIZES,
    "--encoder-fmm-bandwidth", "6", "--decoder-fmm-bandwidth", "5", "--optimizer", "adam", "--lr", "0.003",
    "--max-tokens", "2048", "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1",
    "--cpu", "--no-progress-bar", "--log-interval", "10", "--seed", "1", "--no-epoch-checkpoints",
]


def run(command, stdin=None):
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, input=stdin)
    if result.returncode != 0:
        raise AssertionError(f"{command[0]} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The tiny corpus prepared with a small joint sentencepiece vocabulary; fmmformer trained 40 updates."""
    work = tmp_path_factory.mktemp("mt")
    data = work / "data-bin"
    run([str(BIN / "fmm-prepare-translation"), "--raw-dir", str(CORPUS), "--vocab-size", "300", "--destdir", str(data)])
    log = run([str(BIN / "fairseq-train"), str(data), *TRAIN, "--max-update", "40", "--save-dir", str(work / "checkpoints")])
    return data, work / "checkpoints" / "checkpoint_best.pt", log


def test_training_decreases_the_loss(trained):
    _, checkpoint, log = trained
    assert checkpoint.exists() and "FMMMultiheadAttention" in log
    losses = [float(x) for x in re.findall(r"train_inner .* loss=([\d.]+)", log)]
    assert len(losses) >= 3 and losses[-1] < losses[0]


def test_generate_with_beam_search_and_bleu(trained):
    data, checkpoint, _ = trained
    out = run([str(BIN / "fmm-evaluate-translation"), str(data), "--path", str(checkpoint), "--beam", "5", "--cpu"])
    bleu = float(re.search(r"^BLEU = ([\d.]+)", out, re.M).group(1))
    assert 0 <= bleu <= 100
    hypotheses = checkpoint.with_name("checkpoint_best.test.beam5.es").read_text(encoding="utf-8").splitlines()
    assert len(hypotheses) == len((CORPUS / "test.es").read_text(encoding="utf-8").splitlines())


def test_interactive_translates_raw_text(trained):
    data, checkpoint, _ = trained
    sentences = ["In the beginning God created the heaven and the earth.", "And God said, Let there be light."]
    out = run(
        [str(BIN / "fairseq-interactive"), str(data), "--user-dir", "fmm_fairseq", "--path", str(checkpoint),
         "--source-lang", "en", "--target-lang", "es", "--beam", "3", "--bpe", "sentencepiece",
         "--sentencepiece-model", str(data / "spm.model"), "--cpu"],
        stdin="\n".join(sentences) + "\n",
    )
    assert len(re.findall(r"^D-\d+\t", out, re.M)) == len(sentences)


def test_checkpoint_loads_in_a_new_process(trained):
    """Legacy (argparse) checkpoints hold a Namespace: torch>=2.6 loads them once the plugin is imported."""
    data, checkpoint, _ = trained
    code = (
        "import fmm_fairseq\n"
        "from fairseq import checkpoint_utils\n"
        f"models, cfg, task = checkpoint_utils.load_model_ensemble_and_task([{str(checkpoint)!r}], arg_overrides={{'data': {str(data)!r}}})\n"
        "print(type(models[0]).__name__, cfg.model.arch)\n"
    )
    out = run([sys.executable, "-c", code])
    assert "FMMformerModel fmmformer_tiny" in out


def test_beam_scores_equal_teacher_forced_scores(trained):
    """Each positional score beam search reports is the model's log-prob of that token given the prefix."""
    from fairseq import checkpoint_utils
    from fairseq.sequence_generator import SequenceGenerator

    import fmm_fairseq  # noqa: F401

    data, checkpoint, _ = trained
    models, _, task = checkpoint_utils.load_model_ensemble_and_task([str(checkpoint)], arg_overrides={"data": str(data)})
    model = models[0].eval()
    task.load_dataset("test")
    dataset = task.dataset("test")
    batch = dataset.collater([dataset[i] for i in range(6)])  # left-padded sources of different lengths
    generator = SequenceGenerator([model], task.target_dictionary, beam_size=2, max_len_b=30)
    with torch.no_grad():
        results = generator.generate([model], batch)
        checked = 0
        for row, hypotheses in enumerate(results):
            source = batch["net_input"]["src_tokens"][row]
            source = source[source.ne(task.source_dictionary.pad())][None]
            for hypothesis in hypotheses:
                target = hypothesis["tokens"][None]
                previous = torch.cat([target.new_full((1, 1), task.target_dictionary.eos()), target[:, :-1]], dim=1)
                logits, _ = model(source, torch.tensor([source.shape[1]]), previous)
                log_probs = torch.log_softmax(logits.float(), dim=-1)[0].gather(-1, target[0, :, None])[:, 0]
                torch.testing.assert_close(hypothesis["positional_scores"], log_probs, rtol=0, atol=1e-4)
                checked += 1
    assert checked == 12
