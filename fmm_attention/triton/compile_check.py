"""Compile every kernel specialisation for a CUDA target, without a GPU; check its shared memory.

    TRITON_INTERPRET=0 python -m fmm_attention.triton.compile_check [--arch 90] [--head-dim 128] [--quick]

The CPU interpreter checks the kernels' values but not that Triton's compiler accepts them; this
runs the whole compiler (to a cubin) for the given compute capability, with the tile and warps
that ``ops`` would launch, and fails kernels that only work in the interpreter or that need more
shared memory per block than the GPU has (a launch-time "out of resources" error otherwise).
TRITON_INTERPRET must be 0 (this module sets it when unset).
"""
import argparse
import itertools
import os
import sys

os.environ.setdefault("TRITON_INTERPRET", "0")

from .runtime import INTERPRET, triton  # noqa: E402

from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.compiler import ASTSource  # noqa: E402

from .ops import launch_options, tile_size  # noqa: E402
from .kernels import fmm_bwd_key, fmm_bwd_query, fmm_fwd, fmm_states  # noqa: E402

SHARED_MEMORY_LIMIT = {80: 166912, 86: 101376, 89: 101376, 90: 232448}  # bytes per block, by compute capability

_INPUT_POINTERS = {"Q", "K", "V", "X", "Y", "DO", "DQ", "DK", "DV_OUT", "OUT", "NEAR", "FAR"}
_FP32_POINTERS = {"NEAR_W", "FAR_W", "SLOPES", "DECAY", "W", "S", "Z", "R", "RZ", "LSE", "DELTA", "INV_DEN", "C_DEN", "ROW_SCALE", "ROW_EXTRA"}
_FLOAT_SCALARS = {"sm_scale", "eps", "dropout_p"}


def _signature(kernel, dtype: str, constants: dict) -> dict:
    signature = {}
    for param in kernel.params:
        name = param.name
        if param.is_constexpr:
            signature[name] = "constexpr"
        elif name == "PAD":
            signature[name] = "*u8"
        elif name in _INPUT_POINTERS:
            signature[name] = "*" + dtype
        elif name in _FP32_POINTERS:
            signature[name] = "*fp32"
        elif name in _FLOAT_SCALARS:
            signature[name] = "fp32"
        else:
            signature[name] = "i32"
    missing = {name for name, kind in signature.items() if kind == "constexpr"} - set(constants)
    if missing:
        raise ValueError(f"{kernel.__name__}: no value for constexpr(s) {sorted(missing)}")
    return signature


def specialisations(head_dim: int, chunk_size: int, quick: bool = False):
    """(name, kernel, dtype, constexprs, num_warps) for the fields, directions and options the model uses.

    ``quick``: only the fused kernels in fp16, causal, with and without the long-context options
    (in-band bias, decaying far field; the near-only and far-only kernels are their pruned
    branches, and bf16 compiles alike); they are also the ones that need the most shared memory.
    """
    options = launch_options(tile_size(chunk_size, head_dim, head_dim), head_dim, head_dim)
    num_warps = options.pop("num_warps")
    two_maps = 0 | (1 << 4)  # elu, elu_flip
    cases = [(dtype, fields, causal, long_context)
             for dtype, fields, causal in itertools.product(("fp16", "bf16", "fp32"), ((1, 1), (1, 0), (0, 1)), (True, False))
             for long_context in ((False, True) if causal else (False,))]
    if quick:
        cases = [("fp16", (1, 1), True, False), ("fp16", (1, 1), True, True)]
    for dtype, (near, far), causal, long_context in cases:
        precision = "ieee" if dtype == "fp32" else "tf32"
        flags = dict(
            HAS_NEAR=bool(near), HAS_FAR=bool(far), CAUSAL=causal, MAPS=two_maps if far else 0,
            NUM_MAPS=2 if far else 0, NORMALIZE=True, HAS_PADDING=not causal, HAS_DROPOUT=bool(near) and causal,
            HAS_ALIBI=bool(near) and long_context, HAS_DECAY=bool(far) and long_context, PRECISION=precision, **options,
        )
        label = (f"{dtype} {'near+far' if near and far else 'near' if near else 'far'} {'causal' if causal else 'bidir'}"
                 + (" bias+decay" if long_context else ""))
        yield f"fmm_fwd {label}", fmm_fwd, dtype, dict(flags, STORE_NEAR=bool(near), STORE_FAR=bool(far)), num_warps
        yield f"fmm_bwd_query {label}", fmm_bwd_query, dtype, flags, num_warps
        yield f"fmm_bwd_key {label}", fmm_bwd_key, dtype, flags, num_warps
        if far:
            for weighted in (False, True):
                yield f"fmm_states {label} weighted={weighted}", fmm_states, dtype, dict(
                    MAPS=two_maps, NUM_MAPS=2, NORMALIZE=True, HAS_PADDING=not weighted, WEIGHTED=weighted,
                    HAS_DECAY=long_context, PRECISION=precision, **options,
                ), num_warps


def compile_all(arch: int, head_dim: int, chunk_size: int, quick: bool = False, verbose: bool = True) -> int:
    """Compiles every specialisation; returns how many failed (compiler error or too much shared memory)."""
    target = GPUTarget("cuda", arch, 32)
    limit = SHARED_MEMORY_LIMIT.get(arch)
    failures = 0
    for name, kernel, dtype, constants, num_warps in specialisations(head_dim, chunk_size, quick):
        try:
            source = ASTSource(kernel, _signature(kernel, dtype, constants), constexprs=constants)
            shared = triton.compile(source, target=target, options=dict(num_warps=num_warps)).metadata.shared
        except Exception as error:  # noqa: BLE001 - report every failing specialisation
            failures += 1
            print(f"FAIL {name}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
            continue
        too_big = limit is not None and shared > limit
        failures += too_big
        if verbose or too_big:
            verdict = f"FAIL (over the {limit} B of sm_{arch})" if too_big else "ok"
            print(f"{verdict:4s} {name:45s} T={constants['T']:3d} shared={shared:7d} B")
    return failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", type=int, default=90, help="compute capability as an integer (80 = A100, 90 = H100)")
    parser.add_argument("--head-dim", type=int, default=128)
    parser.add_argument("--chunk-size", type=int, default=64, help="--fmm-chunk-size: the tile before ops caps it")
    parser.add_argument("--quick", action="store_true", help="fused kernels only, fp16, causal")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if INTERPRET:
        parser.error("TRITON_INTERPRET=1 is set: the interpreter compiles nothing; run with TRITON_INTERPRET=0")
    failures = compile_all(args.arch, args.head_dim, args.chunk_size, args.quick, verbose=not args.quiet)
    print(f"{failures} failed" if failures else "all kernels compiled")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
