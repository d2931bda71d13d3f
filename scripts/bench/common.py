"""What the benchmarks (``train``, ``decode``, ``attention``, ``memory``) share: model options,
machine information, a process's memory, markdown tables and log-log plots. fairseq is imported
only where a function needs it, so that attention workers start without it."""
import argparse
import datetime
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from fmm_tools.paths import ROOT, relative
from fmm_tools.plotting import pyplot

BASELINE_ARCH = "transformer_lm"
FMM_ARCH = "fmmformer_lm"
ARCHS = (BASELINE_ARCH, FMM_ARCH)

# The compared size. decoder_input_dim / decoder_output_dim follow --decoder-embed-dim unless given:
# fairseq-train's LM dataclass would otherwise leave them at 512 and add projections.
DEFAULT_MODEL_ARGS = (
    "--decoder-layers 2 --decoder-embed-dim 256 --decoder-attention-heads 4 --decoder-ffn-embed-dim 1024"
    " --share-decoder-input-output-embed"
)
QUICK_MODEL_ARGS = (
    "--decoder-layers 2 --decoder-embed-dim 32 --decoder-attention-heads 2 --decoder-ffn-embed-dim 64"
    " --share-decoder-input-output-embed"
)


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class _RaisingParser(argparse.ArgumentParser):
    def error(self, message):
        raise ValueError(message)


def model_options(arch: str, arch_args: str, fmm_args: str = "", defaults: str = DEFAULT_MODEL_ARGS) -> Dict:
    """The model options of ``arch`` as {dest: value}: ``defaults``, then ``arch_args`` (later wins),
    then ``fmm_args`` for FMM architectures. Raises ValueError naming a bad or unknown option."""
    import fmm_fairseq  # noqa: F401  (registers fmmformer_lm)
    from fairseq.models import ARCH_MODEL_NAME_REGISTRY, ARCH_MODEL_REGISTRY

    if arch not in ARCH_MODEL_REGISTRY:
        raise ValueError(f"unknown architecture {arch!r}")
    parser = _RaisingParser(prog=f"{arch} options", add_help=False)
    ARCH_MODEL_REGISTRY[arch].add_args(parser)
    for action in parser._actions:
        action.default = argparse.SUPPRESS  # keep only the options actually given
    is_fmm = ARCH_MODEL_NAME_REGISTRY[arch] == FMM_ARCH

    def parse(text: str, what: str) -> Dict:
        try:
            tokens = shlex.split(text)
        except ValueError as error:
            raise ValueError(f"{what}: {error}")
        try:
            namespace, unknown = parser.parse_known_args(tokens)
        except (argparse.ArgumentError, ValueError) as error:
            raise ValueError(f"{what}: {error}")
        if unknown:
            hint = " (FMM options go in --fmm-args)" if any(t.startswith("--fmm-") for t in unknown) else ""
            raise ValueError(f"{what}: not a model option of {arch}: {' '.join(unknown)}{hint}")
        return vars(namespace)

    options = parse(defaults, "default model options")
    given = parse(arch_args, "--arch-args")
    options.update(given)
    if is_fmm:
        fmm_options = parse(fmm_args, "--fmm-args")
        others = [name for name in fmm_options if not name.startswith("fmm_")]
        if others:
            raise ValueError(f"--fmm-args takes only --fmm-* options (the others would make the sizes differ): {others}")
        options.update(fmm_options)
    for projected in ("decoder_input_dim", "decoder_output_dim"):
        if projected not in given:
            options[projected] = options["decoder_embed_dim"]
    return options


def check_model_builds(arch: str, options: Dict, max_positions: int) -> None:
    """Builds ``arch`` with ``options`` on a small dictionary; raises ValueError with the model's complaint."""
    from fmm_tools.fairseq_models import build_model, numbered_dictionary

    try:
        build_model(arch, numbered_dictionary(8), tokens_per_sample=max_positions, max_target_positions=max_positions, **options)
    except Exception as error:  # the model's own message (e.g. an invalid FMM option) is the useful part
        raise ValueError(f"{arch} cannot be built with {' '.join(options_to_cli(options))}: {error}")


def options_to_cli(options: Dict) -> List[str]:
    """{dest: value} -> fairseq command-line tokens (a True boolean is a bare flag)."""
    tokens = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            tokens.append(flag)
        elif value is not None and value is not False:
            tokens += [flag, str(value)]
    return tokens


def process_memory_kib(pid: int, field: str) -> int:
    """A memory field of /proc/<pid>/status in KiB: VmRSS (resident now) or VmHWM (peak resident); 0
    once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:  # FileNotFoundError, ProcessLookupError: the process has ended
        pass
    return 0


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (ru_maxrss, which Linux reports in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_revision() -> Optional[str]:
    try:
        revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return None
    if revision.returncode != 0:
        return None
    return revision.stdout.strip() + ("+uncommitted changes" if dirty.stdout.strip() else "")


def machine_info(threads: int) -> Dict:
    """What the numbers depend on: CPU, cores, threads used, library versions, date, load at start."""
    import torch

    try:
        import fairseq

        fairseq_version = fairseq.__version__
    except ImportError:
        fairseq_version = None
    return {
        "cpu": cpu_model(),
        "cores_usable": usable_cores(),
        "threads": threads,
        "torch": torch.__version__,
        "fairseq": fairseq_version,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "load_average_1min_at_start": round(os.getloadavg()[0], 2),
        "git": git_revision(),
        "invocation": relative([sys.executable, *sys.argv]),
    }


def machine_line(machine: Dict) -> str:
    return (
        f"{machine['cpu']}, {machine['cores_usable']} cores usable, {machine['threads']} threads, "
        f"torch {machine['torch']}, fairseq {machine['fairseq']}, Python {machine['python']}; "
        f"{machine['date']}; 1-min load average at start {machine['load_average_1min_at_start']}; "
        f"git {machine['git']}"
    )


def models_paragraph(options: Dict[str, Dict], rows: List[Dict]) -> str:
    """The compared models, for a report: their options, parameter counts and self-attention classes."""
    fmm_options = {name: value for name, value in options[FMM_ARCH].items() if name.startswith("fmm_")}
    fmm_text = f"`{' '.join(options_to_cli(fmm_options))}`" if fmm_options else "default FMM options (bandwidth 20, maps elu,elu_flip)"
    facts = []
    for arch in ARCHS:
        parameters = next((row["parameters"] for row in rows if row["arch"] == arch and row.get("parameters")), None)
        attention = next((row["self_attention"] for row in rows if row["arch"] == arch and row.get("self_attention")), "?")
        facts.append(f"{arch}: {significant(parameters)} parameters, self-attention `{attention}`")
    return (f"Model (both): `{' '.join(options_to_cli(options[BASELINE_ARCH]))}`; {FMM_ARCH}: {fmm_text}. "
            + "; ".join(facts) + ".")


def busy_cpu_note(machine: Dict) -> str:
    """A warning for the report when other work already filled the cores as the benchmark started."""
    if machine["load_average_1min_at_start"] < machine["cores_usable"]:
        return ""
    threads = (" With more than one thread each parallel op can also stall on a descheduled thread: use --threads 1 "
               "on a busy machine." if machine["threads"] > 1 else "")
    return (f"**Busy CPU:** the 1-minute load average was {machine['load_average_1min_at_start']} on "
            f"{machine['cores_usable']} cores at the start: other processes competed for the CPU, so absolute numbers "
            f"are pessimistic and noisy.{threads}\n\n")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def significant(value: Optional[float], digits: int = 3) -> str:
    """A number with ``digits`` significant digits, thousands separated; '–' for None."""
    if value is None:
        return "–"
    if value == 0 or abs(value) >= 10 ** (digits - 1):
        return f"{value:,.0f}"
    return f"{value:#.{digits}g}".rstrip(".")  # keeps trailing zeros: 1.00, 0.330


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")


Series = Dict[str, Tuple[List[float], List[Optional[float]]]]


def plot_loglog(path: Path, title: str, x_label: str, panels: Sequence[Tuple[str, Series]]) -> None:
    """One log-log panel per (y label, {series label: (xs, ys)}); points whose y is None are skipped."""
    plt = pyplot()
    import matplotlib.ticker

    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2))
    for axis, (y_label, series) in zip(list(getattr(axes, "flat", [axes])), panels):
        all_x, all_y = set(), []
        for label, (xs, ys) in series.items():
            points = [(x, y) for x, y in zip(xs, ys) if y is not None and y > 0]
            if points:
                axis.plot(*zip(*points), marker="o", label=label)
                all_x.update(x for x, _ in points)
                all_y += [y for _, y in points]
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
        axis.yaxis.set_major_formatter(plain)
        if all_y and max(all_y) / min(all_y) < 10:  # under a decade: label the minor ticks too
            axis.yaxis.set_minor_formatter(plain)
        if all_x:
            axis.set_xticks(sorted(all_x), [str(x) for x in sorted(all_x)])
        axis.set_xlabel(x_label)
        axis.set_ylabel(y_label)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
