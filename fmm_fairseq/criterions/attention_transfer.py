"""``--criterion fmm_attention_transfer``: before fine-tuning a converted softmax model, train only
its blend weights so that every FMM self-attention reproduces the full softmax attention of its own
projections (an MSE per layer, as LoLCATs' attention transfer; the softmax is computed densely, at
training length only). The loss is the sum over layers of ``FMMMultiheadAttention.transfer_loss``;
nothing but the near and far weights receives a gradient (pass ``--fmm-learn-far-weight`` so the far
weight learns too). On several ranks ``--ddp-backend legacy_ddp`` works (tested on gloo); torch DDP
will need ``--find-unused-parameters`` for the weights left without gradient.
"""
import torch
from fairseq import metrics
from fairseq.criterions import FairseqCriterion, register_criterion

from fmm_fairseq.modules import FMMMultiheadAttention


@register_criterion("fmm_attention_transfer")
class FMMAttentionTransferCriterion(FairseqCriterion):
    def forward(self, model, sample, reduce=True):
        inputs = []

        def keep_input(module, args, kwargs):
            query = kwargs["query"] if "query" in kwargs else args[0]
            inputs.append((module, query, kwargs.get("key_padding_mask")))

        handles = [
            module.register_forward_pre_hook(keep_input, with_kwargs=True)
            for module in model.modules() if isinstance(module, FMMMultiheadAttention)
        ]
        if not handles:
            raise ValueError("--criterion fmm_attention_transfer needs a model with FMM self-attention (--arch fmm*)")
        try:
            with torch.no_grad():  # the layer inputs, as the model computes them now
                model(**sample["net_input"])
        finally:
            for handle in handles:
                handle.remove()
        loss = sum(module.transfer_loss(query, padding) for module, query, padding in inputs)
        logging_output = {
            "loss": loss.detach(),
            "layers": len(inputs),
            "ntokens": sample["ntokens"],
            "nsentences": sample["net_input"]["src_tokens"].size(0),
            "sample_size": 1,
        }
        return loss, 1, logging_output

    @staticmethod
    def reduce_metrics(logging_outputs) -> None:
        batches = sum(log.get("sample_size", 0) for log in logging_outputs)
        loss = sum(float(log.get("loss", 0)) for log in logging_outputs)
        metrics.log_scalar("loss", loss / max(batches, 1), batches, round=6)

    @staticmethod
    def logging_outputs_can_be_summed() -> bool:
        return True
