"""fmm_fairseq: FMMformer attention (banded softmax + low-rank linear attention) for fairseq.

One distribution, three rooms (docs/architecture.md): ``fmm_attention`` (the math, torch only),
``fmm_fairseq`` (the fairseq plugin), ``fmm_tools`` (corpus builders, evaluation, benchmarks and
studies; its source is the ``scripts/`` folder).
"""
from setuptools import find_packages, setup

TOOLS = ["fmm_tools"] + [f"fmm_tools.{name}" for name in find_packages(where="scripts")]


def compiled_kernels():
    """fmm_attention's compiled CPU kernels (C++, OpenMP) as the extension ``fmm_attention._cpu``, built
    against the torch already installed (pip install --no-build-isolation); none where torch is missing.
    A failed build is reported in one line and leaves the package installed: the torch path runs then."""
    try:
        from torch.utils.cpp_extension import BuildExtension, CppExtension
    except ImportError:
        return {}

    class OptionalBuildExtension(BuildExtension):
        def build_extension(self, extension):
            try:
                super().build_extension(extension)
            except Exception as error:  # compiler missing or failing: the torch path still works
                print(f"fmm_attention: the compiled CPU kernels could not be built ({error}); the torch path will run")

    flags = ["-O3", "-march=native", "-fopenmp", "-fno-math-errno", "-fno-trapping-math"]
    sources = [f"fmm_attention/csrc/{name}.cpp" for name in ("module", "band", "far")]
    kernels = CppExtension("fmm_attention._cpu", sources, extra_compile_args=flags,
                           extra_link_args=["-fopenmp"])
    return {"ext_modules": [kernels], "cmdclass": {"build_ext": OptionalBuildExtension}}

setup(
    name="fmm_fairseq",
    version="0.1.0",
    description="FMMformer attention as a fairseq plugin: linear-cost near-field band + far-field linear attention",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.8",
    packages=find_packages(include=["fmm_attention", "fmm_attention.*", "fmm_fairseq", "fmm_fairseq.*"]) + TOOLS,
    package_dir={"fmm_tools": "scripts"},
    entry_points={
        "console_scripts": [
            "fmm-convert = fmm_fairseq.conversion:main",
            "fmm-prepare-lm = fmm_tools.data.prepare_lm:main",
            "fmm-prepare-translation = fmm_tools.data.prepare_translation:main",
            "fmm-prepare-listops = fmm_tools.data.prepare_listops:main",
            "fmm-prepare-code = fmm_tools.data.prepare_code:main",
            "fmm-prepare-recall = fmm_tools.data.prepare_recall:main",
            "fmm-prepare-mqar = fmm_tools.data.prepare_mqar:main",
            "fmm-prepare-long-docs = fmm_tools.data.prepare_long_docs:main",
            "fmm-evaluate-translation = fmm_tools.eval.evaluate_translation:main",
            "fmm-position-loss = fmm_tools.eval.position_loss:main",
            "fmm-recall = fmm_tools.eval.recall:main",
        ],
    },
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
    **compiled_kernels(),
)
