"""The recipes the studies share: the language-model studies' model and schedule, the translation
comparison's model, loss and schedule (which the conversion study fine-tunes), and how a translation
is scored (``fmm-evaluate-translation``: beam 5, sacrebleu on the raw references)."""
import re
from pathlib import Path
from typing import List

from fmm_tools.paths import BIN

# The language-model studies' model (2 layers, 128 dims, 4 heads, FFN 512) and schedule.
LM_MODEL_SIZE = [
    "--decoder-layers", "2", "--decoder-embed-dim", "128", "--decoder-ffn-embed-dim", "512",
    "--decoder-input-dim", "128", "--decoder-output-dim", "128", "--decoder-attention-heads", "4",
    "--share-decoder-input-output-embed",
]
LM_SCHEDULE = [
    "--optimizer", "adam", "--adam-betas", "(0.9,0.98)", "--clip-norm", "1.0", "--lr", "0.002",
    "--lr-scheduler", "inverse_sqrt", "--warmup-updates", "150",
]
# fairseq-train's bookkeeping in the long-context and long-encoder studies: CPU, data read in the trainer's
# process, JSON logs, every batch kept (fairseq's default multiple of 8 drops the remainder), only the
# latest interval checkpoint kept.
STUDY_RUN_FLAGS = [
    "--cpu", "--num-workers", "0", "--log-format", "json", "--required-batch-size-multiple", "1",
    "--no-epoch-checkpoints", "--keep-interval-updates", "1",
]
# The translation comparison's model (the sizes of fmmformer_tiny, given to every --arch) and training.
TRANSLATION_MODEL_SIZE = [
    "--encoder-layers", "3", "--decoder-layers", "3", "--encoder-embed-dim", "256", "--decoder-embed-dim", "256",
    "--encoder-ffn-embed-dim", "1024", "--decoder-ffn-embed-dim", "1024", "--encoder-attention-heads", "4",
    "--decoder-attention-heads", "4", "--share-all-embeddings",
]
TRANSLATION_LOSS = ["--dropout", "0.1", "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1"]
TRANSLATION_SCHEDULE = [
    "--optimizer", "adam", "--adam-betas", "(0.9,0.98)", "--lr", "0.001", "--lr-scheduler", "inverse_sqrt",
    "--warmup-updates", "400",
]


def bleu_command(data: Path, checkpoint: Path) -> List[str]:
    """Test BLEU of a translation checkpoint, beam 5, as every study scores it."""
    return [str(BIN / "fmm-evaluate-translation"), str(data), "--path", str(checkpoint), "--beam", "5", "--cpu"]


def read_bleu(output: str) -> float:
    """The last ``BLEU = ...`` line fmm-evaluate-translation printed."""
    return float(re.findall(r"^BLEU = ([\d.]+)", output, re.M)[-1])
