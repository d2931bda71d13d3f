"""Peak memory growth of a no-grad forward pass of a language model over one long sequence.

    python scripts/bench/memory.py --arch fmmformer_lm --tokens 16384
    python scripts/bench/memory.py --arch transformer_lm --tokens 16384

Builds the model (2 layers, 64 dims, 4 heads by default, random weights), then runs one forward
over ``--tokens`` tokens in a fresh process and reports how much the process's peak resident
memory (ru_maxrss) grew during the forward, i.e. the cost of the activations, not of the weights.
"""
import argparse
import json
import time

import torch

from fmm_tools.bench.common import peak_rss_mib
from fmm_tools.fairseq_models import build_model, numbered_dictionary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="fmmformer_lm", help="fmmformer_lm or transformer_lm (or any LM arch)")
    parser.add_argument("--tokens", type=int, default=16384)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    options = parser.parse_args(argv)
    torch.set_num_threads(options.threads)
    torch.manual_seed(0)
    model = build_model(
        options.arch, numbered_dictionary(options.vocab), decoder_layers=options.layers,
        decoder_embed_dim=options.dim, decoder_ffn_embed_dim=4 * options.dim, decoder_attention_heads=options.heads,
        tokens_per_sample=options.tokens, max_target_positions=options.tokens + 2, dropout=0.0,
    ).eval()
    tokens = torch.randint(4, options.vocab + 4, (1, options.tokens))
    before = peak_rss_mib()
    start = time.perf_counter()
    with torch.no_grad():
        logits, _ = model(tokens)
    seconds = time.perf_counter() - start
    growth = peak_rss_mib() - before
    print(json.dumps({
        "arch": options.arch, "tokens": options.tokens, "layers": options.layers, "dim": options.dim,
        "heads": options.heads, "vocab": options.vocab, "peak_growth_mib": round(growth, 1),
        "seconds": round(seconds, 2), "finite": bool(torch.isfinite(logits).all()),
    }))


if __name__ == "__main__":
    main()
