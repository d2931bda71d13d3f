"""``--criterion answer_cross_entropy``: Zoology's answer-only loss for associative recall (MQAR,
``fmm-prepare-mqar``) under ``--task language_modeling --sample-break-mode eos``.

A target counts only where it is an answer: position t of a row whose input token src_tokens[b, t] is
a key (a dictionary symbol starting with ``--answer-key-prefix``, default ``k``) already seen earlier
in the same row (a query: the key's second, or later, occurrence); the target at t is its value.
First occurrences, non-keys and padding are left out, so

    loss = Σ_{answers} −log p(target[b, t] | src[b, ≤t]),   sample_size = number of answers A,

reduced like fairseq's ``cross_entropy`` (logged loss = loss / A / ln 2, ``ppl`` = 2^loss), plus
``n_correct`` (argmax == target at the answers), ``answers`` and the derived ``accuracy`` =
n_correct / answers (a fraction, as ``fmm-recall`` and Zoology report it) in train and valid lines.

A batch with no answer gives loss 0 (still attached to the graph: zero gradients) and
sample_size 0: fairseq's trainer divides the summed gradients by ``sample_size or 1.0``, so nothing
divides by zero, and a batch with no answer weighs nothing in the logged averages.
"""
import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from fairseq import utils
from fairseq.criterions import FairseqCriterion, register_criterion
from fairseq.dataclass import FairseqDataclass
from fairseq.logging import metrics


@dataclass
class AnswerCrossEntropyConfig(FairseqDataclass):
    answer_key_prefix: str = field(
        default="k", metadata={"help": "dictionary symbols starting with this are keys; a target counts only after a repeated key"}
    )


def repeated_tokens(tokens: torch.Tensor) -> torch.Tensor:
    """(batch, length) bool: whether the token at [b, t] occurs earlier in row b. A stable sort puts
    equal tokens next to each other in order of position; every one but the first is a repeat."""
    ordered, order = tokens.sort(dim=1, stable=True)
    repeat = torch.zeros_like(tokens, dtype=torch.bool)
    repeat[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    return torch.zeros_like(repeat).scatter_(1, order, repeat)


@register_criterion("answer_cross_entropy", dataclass=AnswerCrossEntropyConfig)
class AnswerCrossEntropyCriterion(FairseqCriterion):
    def __init__(self, task, answer_key_prefix="k"):
        super().__init__(task)
        dictionary = task.source_dictionary
        is_key = torch.tensor([symbol.startswith(answer_key_prefix) for symbol in dictionary.symbols], dtype=torch.bool)
        for special in (dictionary.bos(), dictionary.pad(), dictionary.eos(), dictionary.unk()):
            is_key[special] = False
        if not answer_key_prefix or not is_key.any():
            raise ValueError(f"--answer-key-prefix {answer_key_prefix!r}: no symbol of the dictionary "
                             f"({len(dictionary)} symbols) starts with it, so no target would ever count")
        self.answer_key_prefix = answer_key_prefix
        self.register_buffer("is_key", is_key, persistent=False)  # moves with the criterion to the device

    def answer_mask(self, src_tokens: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """(batch, length) bool: the targets that are answers (after a repeated key, not padding)."""
        return self.is_key[src_tokens] & repeated_tokens(src_tokens) & target.ne(self.padding_idx)

    def forward(self, model, sample, reduce=True):
        """Returns the loss (summed over the answers), the number of answers, and the logging outputs."""
        net_output = model(**sample["net_input"])
        target = model.get_targets(sample, net_output)
        answers = self.answer_mask(sample["net_input"]["src_tokens"], target)
        if getattr(getattr(model, "decoder", None), "adaptive_softmax", None) is not None:
            lprobs = model.get_normalized_probs(net_output, log_probs=True, sample=sample)[answers]
        else:  # normalise only the answers' logits
            lprobs = model.get_normalized_probs((net_output[0][answers], *net_output[1:]), log_probs=True)
        expected = target[answers]
        loss = F.nll_loss(lprobs, expected, reduction="sum" if reduce else "none")
        count = int(answers.sum())
        logging_output = {
            "loss": loss.data,
            "ntokens": sample["ntokens"],
            "nsentences": target.size(0),
            "sample_size": count,
            "answers": count,
            "n_correct": int((lprobs.argmax(-1) == expected).sum()),
        }
        return loss, count, logging_output

    @staticmethod
    def reduce_metrics(logging_outputs) -> None:
        """Aggregate logging outputs from data parallel training."""
        loss_sum = utils.item(sum(log.get("loss", 0) for log in logging_outputs))
        sample_size = utils.item(sum(log.get("sample_size", 0) for log in logging_outputs))
        answers = utils.item(sum(log.get("answers", 0) for log in logging_outputs))
        n_correct = utils.item(sum(log.get("n_correct", 0) for log in logging_outputs))
        # base 2 like cross_entropy; no answer: weight 0, the average stays what it was
        metrics.log_scalar("loss", loss_sum / max(sample_size, 1) / math.log(2), sample_size, round=3)
        metrics.log_derived("ppl", lambda meters: utils.get_perplexity(meters["loss"].avg))
        metrics.log_scalar_sum("answers", answers)
        metrics.log_scalar_sum("n_correct", n_correct)
        metrics.log_derived(
            "accuracy",
            lambda meters: round(meters["n_correct"].sum / meters["answers"].sum, 4) if meters["answers"].sum > 0 else float("nan"),
        )

    @staticmethod
    def logging_outputs_can_be_summed() -> bool:
        """Every logged value is a sum over the batch: workers' outputs may be summed first."""
        return True
