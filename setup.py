"""fmm_fairseq: FMMformer attention (banded softmax + low-rank linear attention) for fairseq."""
from setuptools import find_packages, setup

setup(
    name="fmm_fairseq",
    version="0.1.0",
    description="FMMformer attention as a fairseq plugin: linear-cost near-field band + far-field linear attention",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.8",
    packages=find_packages(include=["fmm_fairseq", "fmm_fairseq.*"]),
    install_requires=[
        "torch>=1.13",
        # fairseq's Cython extensions (data_utils_fast, token_block_utils_fast) built against numpy 1.x
        # (as scripts/setup.sh builds them, or a wheel from pip's cache) fail to import under numpy 2:
        # fairseq-train stops with "numpy.core.multiarray failed to import".
        "numpy<2",
        # fairseq 0.12.2 (PyPI's last release) does not import on Python >= 3.11; fairseq-fixed is
        # a later upstream snapshot with the fix, under the same `fairseq` import name.
        "fairseq==0.12.2; python_version < '3.11'",
        "fairseq-fixed==0.12.3.1; python_version >= '3.11'",
        "sacrebleu>=2.0",
        "sentencepiece",
    ],
    extras_require={"test": ["pytest", "pytest-xdist"], "bench": ["matplotlib"], "triton": ["triton>=3.9; platform_system == 'Linux'"]},
)
