"""Studies: fairseq-train runs compared on a report page under docs/. Each study module declares its
runs, how to score them and its tables; ``skeleton`` does the rest (budget, resumable parallel runs,
result records kept beside the page, curves, notes kept); ``recipes`` holds the shared model sizes and
schedules, ``fairseq_output`` reads what fairseq's logs and checkpoints record."""
