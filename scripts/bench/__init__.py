"""Benchmarks: attention alone on CPU (``attention``) and GPU (``attention_gpu``), ``fairseq-train``
throughput (``train``), incremental decoding (``decode``) and a forward pass's memory (``memory``);
what they share is in ``common``."""
