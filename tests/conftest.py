"""Under pytest-xdist (the README's test command runs ``-n auto``) every worker, and every fairseq
process a test starts, uses one CPU thread: two workers with torch's default of one thread per core
would oversubscribe the cores, and OpenMP then runs many times slower (a 30 s fixture took 260 s)."""
import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
