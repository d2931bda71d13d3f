"""The skeleton every study stands on: a study declares its runs, how to score one and its report;
the skeleton trains them and keeps the page.

    Run(name, label, train=[DATA, "--arch", ...], seed=1, stage="1", facts={...}, after=(...))
    Study(title, script, stages, runs=..., score=..., report=..., curves=...)
    parser = study_parser(__doc__, STAGES, page=..., save_root=..., out_root=...)   # + the study's options
    return run_study(study, args, settings={...}, command="python scripts/studies/x.py ...")

What the skeleton does for every study:

* **Budget.** ``settings`` (JSON: updates, sample lengths, model size, data, ...) are recorded with the
  results and handed to ``runs``, ``score`` and ``report`` through ``Records.settings`` and
  ``Trained.settings``, so that a report rewritten later quotes the budget its runs had.
* **Runs.** ``fairseq-train`` with the run's arguments plus ``--seed`` and ``--save-dir
  SAVE_ROOT/<directory>``, ``--threads`` split between the runs trained at once (``--parallel``, or
  every run of a ``together`` stage), logged to ``OUT_ROOT/<directory>/train.log`` with its wall time
  and peak memory. Then ``score(run, trained)`` measures it (fairseq-eval-lm, fairseq-validate, BLEU).
  Stages run in order (``--stages`` picks some), ``runs`` being asked again before each, so that a
  stage can be chosen from the results of the one before; a run's ``after`` runs are done first.
* **Resumable.** A run with a record is skipped; an interrupted one resumes from its
  ``checkpoint_last.pt`` (fairseq does that), and one whose checkpoint already holds its
  ``--max-update`` is only scored.
* **Result records.** One JSON file beside the page (``docs/lra.md`` -> ``docs/lra.json``): the
  command as a reader types it, the settings, study-wide facts and one record per run, so
  ``--report-only`` rewrites the page from the repository alone.
* **Curves and the page.** ``curves`` (panels of lines) are drawn to ``<page>_curves.png``; the page
  is the title, the command, then ``report``'s lines, rewritten after every finished run, and
  whatever stands below ``NOTES_MARKER`` (hand-written notes) is kept. Commands are quoted as a
  reader types them (``fairseq-train ...``, paths relative to the checkout: ``paths.relative``).
"""
import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from fmm_tools.cli_types import positive_int
from fmm_tools.paths import BIN, ROOT, relative
from fmm_tools.plotting import pyplot
from fmm_tools.studies.fairseq_output import checkpoint_updates

NOTES_MARKER = "<!-- notes: everything below this line is kept when the report is rewritten -->"


class StudyError(RuntimeError):
    pass


@dataclass
class Run:
    """One model of a study: trained by ``fairseq-train`` (unless ``train`` is None), then scored.

    ``train``: fairseq-train's arguments, the data directory first; the skeleton adds ``--seed`` and
    ``--save-dir``. A callable gives them when the run starts (after its ``after`` runs), for
    arguments that depend on them. None: nothing to train, ``score`` does all the work.
    ``facts``: what the study knows of the run before it trains (copied into its record).
    ``after``: runs that must have a record first, trained first whatever --stages and --only say.
    ``directory``: under --save-root and --out-root (default the name); runs that continue one
    another's training share one.
    """

    name: str
    label: str
    train: Union[Sequence[str], Callable[[], Sequence[str]], None]
    seed: int = 1
    stage: str = "1"
    facts: Dict[str, Any] = field(default_factory=dict)
    after: Tuple[str, ...] = ()
    directory: Optional[str] = None


@dataclass(frozen=True)
class Stage:
    """A group of runs trained before the next group; ``together``: all at once whatever --parallel says."""

    name: str
    help: str = ""
    together: bool = False


@dataclass
class Line:
    label: str
    points: Sequence[Tuple[float, float]]
    dashed: bool = False
    marker: Optional[str] = "."


@dataclass
class Panel:
    """One plot of the curves figure."""

    lines: List[Line]
    y_label: str
    x_label: str = "updates"
    title: str = ""
    log_y: bool = False
    log_x: bool = False  # base 2: lengths, positions and gaps that double
    y_range: Optional[Tuple[float, float]] = None
    legend_size: Optional[int] = 8  # None: no legend


@dataclass
class Finished:
    """A command that ran to the end: its whole log, wall time and peak resident memory."""

    log: str
    seconds: float
    peak_mib: float


def run_measured(command: Sequence, log: Path, threads: int, cwd: Path = ROOT) -> Finished:
    """Runs ``command`` with ``threads`` CPU threads, appending its output to ``log``."""
    command = [str(part) for part in command]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        started = time.time()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)  # the rusage of this child alone
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.time() - started
    if process.returncode != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-15:])
        raise StudyError(f"{Path(command[0]).name} failed ({process.returncode}), log {log}:\n{tail}")
    return Finished(log.read_text(), seconds, usage.ru_maxrss / 1024)  # Linux reports KiB


@dataclass
class Trained:
    """What ``score`` gets: where the run's checkpoints and logs are, and how it was trained."""

    run: Run
    save_dir: Path
    out_dir: Path
    threads: int
    settings: Dict[str, Any]
    command: Optional[List[str]] = None  # the fairseq-train command (None: nothing to train)
    finished: Optional[Finished] = None  # None also when the checkpoint already held every update

    def log(self) -> str:
        """The training log, every resume included."""
        path = self.out_dir / "train.log"
        return path.read_text() if path.exists() else ""

    def call(self, command: Sequence, log: str = "eval.log") -> Finished:
        """Runs a scoring command with the run's threads, appending to ``log`` in its out dir."""
        return run_measured(command, self.out_dir / log, self.threads)


class Records:
    """A study's result records, kept beside its page (``docs/lra.md`` -> ``docs/lra.json``)."""

    def __init__(self, page: Path):
        self.page = page
        self.path = page.with_suffix(".json")
        data = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.command: str = data.get("command", "")
        self.settings: Dict[str, Any] = data.get("settings", {})
        self.facts: Dict[str, Any] = data.get("facts", {})
        self.runs: Dict[str, Dict[str, Any]] = data.get("runs", {})  # by name, in name order

    @property
    def curves(self) -> Path:
        return self.page.with_name(self.page.stem + "_curves.png")

    def add(self, record: Dict[str, Any]) -> None:
        """Records a finished run (the runs stay in name order, whatever order they finish in)."""
        self.runs = dict(sorted({**self.runs, record["name"]: record}.items()))
        self.save()

    def save(self) -> None:
        data = {"command": self.command, "settings": self.settings, "facts": self.facts, "runs": self.runs}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps(data, indent=1) + "\n")
        os.replace(partial, self.path)


@dataclass
class Study:
    """What a study declares; ``run_study`` does the rest."""

    title: str  # the page's heading
    script: str  # the study's file, as the page names it (scripts/studies/lra.py)
    stages: Sequence[Stage]
    runs: Callable[[Records], List[Run]]  # asked before each stage: later stages may follow earlier results
    score: Callable[[Run, Trained], Dict[str, Any]]  # the run's scores, added to its record
    report: Callable[[Records], List[str]]  # the page's lines below the heading and the command
    curves: Optional[Callable[[Records], List[Panel]]] = None


def write_keeping_notes(page: Path, lines: List[str]) -> None:
    """Writes ``lines`` to ``page``, then the marker and whatever notes stood below it before."""
    page.parent.mkdir(parents=True, exist_ok=True)
    old = page.read_text() if page.exists() else ""
    notes = old.split(NOTES_MARKER, 1)[1] if NOTES_MARKER in old else "\n"
    page.write_text("\n".join(lines) + "\n" + NOTES_MARKER + notes)


def plot_curves(path: Path, panels: List[Panel]) -> None:
    plt = pyplot()
    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for axis, panel in zip(axes[0], panels):
        for line in panel.lines:
            xs, ys = zip(*line.points) if line.points else ((), ())
            axis.plot(xs, ys, "--" if line.dashed else "-", marker=line.marker, label=line.label)
        if panel.log_y:
            axis.set_yscale("log")
        if panel.log_x:
            axis.set_xscale("log", base=2)
        if panel.y_range:
            axis.set_ylim(*panel.y_range)
        axis.set_xlabel(panel.x_label)
        axis.set_ylabel(panel.y_label)
        if panel.title:
            axis.set_title(panel.title)
        axis.grid(True, which="both", alpha=0.3)
        if panel.legend_size and axis.lines:
            axis.legend(fontsize=panel.legend_size)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_report(study: Study, records: Records) -> None:
    """The page: heading, command, the study's lines (and curves), the notes kept."""
    panels = study.curves(records) if study.curves and records.runs else None
    if panels:
        records.page.parent.mkdir(parents=True, exist_ok=True)
        plot_curves(records.curves, panels)
    lines = [
        f"# {study.title}", "",
        f"Produced by `{study.script}` (rewritten after every finished run; `--report-only` rewrites it from "
        f"`{records.path.name}`):", "",
        f"    {records.command}", "",
        *study.report(records),
    ]
    write_keeping_notes(records.page, lines)


def train_command(run: Run, save_dir: Path) -> List[str]:
    """The run's fairseq-train command line."""
    arguments = run.train() if callable(run.train) else run.train
    return [str(BIN / "fairseq-train"), *map(str, arguments), "--seed", str(run.seed), "--save-dir", str(save_dir)]


def last_value(command: Sequence[str], option: str) -> Optional[str]:
    """The value of the last ``option`` in a command line (fairseq keeps the last of a repeated option)."""
    positions = [index for index, word in enumerate(command) if word == option]
    return command[positions[-1] + 1] if positions else None


def train_and_score(study: Study, run: Run, settings: Dict, save_root: Path, out_root: Path, threads: int) -> Dict:
    """Trains (or resumes) one run, scores it; returns its record."""
    started = time.time()
    directory = run.directory or run.name
    trained = Trained(run, save_root / directory, out_root / directory, threads, settings)
    trained.save_dir.mkdir(parents=True, exist_ok=True)
    trained.out_dir.mkdir(parents=True, exist_ok=True)
    if run.train is not None:
        trained.command = train_command(run, trained.save_dir)
        checkpoint = trained.save_dir / "checkpoint_last.pt"
        target = last_value(trained.command, "--max-update")
        done = checkpoint_updates(checkpoint) if checkpoint.exists() else 0
        if target is not None and done > int(target):
            raise StudyError(f"{checkpoint} is at update {done}, past {target}: remove it to rerun")
        if target is None or done < int(target):  # at --max-update fairseq would train one more update
            print(f"[{run.name}] training ({threads} thread(s)), log {relative(trained.out_dir / 'train.log')}", flush=True)
            trained.finished = run_measured(trained.command, trained.out_dir / "train.log", threads)
    record = {"name": run.name, "label": run.label, "seed": run.seed, "stage": run.stage, "threads": threads,
              **run.facts}
    if trained.command:
        record["command"] = relative(trained.command)
    record.update(study.score(run, trained))
    print(f"[{run.name}] done in {time.time() - started:.0f} s", flush=True)
    return record


def with_prerequisites(todo: List[Run], declared: Dict[str, Run], records: Records) -> List[Run]:
    """``todo`` and, first, every unfinished run one of them waits for."""
    wanted, order = {run.name for run in todo}, []

    def visit(run: Run) -> None:
        for name in run.after:
            if name in records.runs or name in wanted:
                continue
            if name not in declared:
                raise StudyError(f"[{run.name}] waits for {name}, which the study does not declare")
            wanted.add(name)
            visit(declared[name])
            order.append(declared[name])

    for run in todo:
        visit(run)
    return order + todo


def train_runs(study: Study, runs: List[Run], records: Records, args, parallel: int, threads: int) -> List[str]:
    """Trains ``runs``, ``parallel`` at a time, each after its ``after`` runs; records and reports each
    finished one. Returns the errors (a run waiting for a failed one is not started)."""
    errors, failed, pending, running = [], set(), list(runs), {}
    with ThreadPoolExecutor(parallel) as pool:
        while pending or running:
            for run in list(pending):
                broken = failed.intersection(run.after)
                if broken:
                    pending.remove(run)
                    failed.add(run.name)
                    errors.append(f"[{run.name}] not run: {', '.join(sorted(broken))} failed")
                elif len(running) < parallel and all(name in records.runs for name in run.after):
                    pending.remove(run)
                    future = pool.submit(train_and_score, study, run, records.settings, args.save_root,
                                         args.out_root, threads)
                    running[future] = run
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                run = running.pop(future)
                if future.exception() is not None:
                    failed.add(run.name)
                    errors.append(f"[{run.name}] {future.exception()}")
                else:
                    records.add(future.result())
                    write_report(study, records)
    return errors


def stage_list(stages: Sequence[Stage]):
    """argparse type: comma-separated stage names, each one of ``stages``."""
    known = [stage.name for stage in stages]

    def parse(text: str) -> List[str]:
        chosen = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in chosen if name not in known]
        if unknown or not chosen:
            raise argparse.ArgumentTypeError(f"unknown stage(s): {', '.join(unknown) or '(none given)'} "
                                             f"(known: {', '.join(known)})")
        return chosen

    return parse


def study_parser(doc: str, stages: Sequence[Stage], page: Union[Path, str], save_root: Union[Path, str],
                 out_root: Union[Path, str], parallel: Optional[int] = None,
                 thread_per_run: bool = False) -> argparse.ArgumentParser:
    """The options every study has; the study adds its own. A default given as text (it depends on
    other options) is only shown: the option's value is then None unless given. ``thread_per_run``:
    --threads defaults to --parallel (one thread per run) instead of every core."""

    def default(value):
        return (value, f"default {relative(value)}") if isinstance(value, Path) else (None, f"default {value}")

    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    for option, value, what in (("--save-root", save_root, "checkpoints, one folder per run"),
                                ("--out-root", out_root, "logs, one folder per run"),
                                ("--docs", page, "report page; its result records are the .json beside it")):
        value, shown = default(value)
        parser.add_argument(option, type=Path, default=value, help=f"{what} ({shown})")
    parser.add_argument("--threads", type=positive_int, default=None if thread_per_run else os.cpu_count() or 1,
                        help="CPU threads in all, split between the runs trained at once (default: "
                        + ("--parallel, one thread per run)" if thread_per_run else "every core)"))
    parser.add_argument("--parallel", type=positive_int, default=parallel,
                        help="runs trained at once (default: " + (f"{parallel})" if parallel else "every run of a stage)"))
    parser.add_argument("--stages", type=stage_list(stages),
                        help="comma-separated, in this order: " + "; ".join(
                            stage.name + (f" ({stage.help})" if stage.help else "") for stage in stages))
    parser.add_argument("--report-only", action="store_true",
                        help="only rewrite the report from the recorded results")
    return parser


def prepare_data(program: str, *arguments) -> None:
    """Builds a study's missing data with one of the corpus builders (fmm-prepare-lm, ...), from the checkout."""
    subprocess.run([str(BIN / program), *map(str, arguments)], cwd=ROOT, check=True)


def changed_settings(old: Dict, new: Dict) -> List[str]:
    return [f"{key} {old.get(key)!r} -> {new.get(key)!r}" for key in sorted(set(old) | set(new))
            if old.get(key) != new.get(key)]


def run_study(study: Study, args, settings: Dict[str, Any], command: str, facts: Optional[Dict] = None) -> int:
    """Trains the runs of the chosen stages that have no record yet, then rewrites the page; 0 when all
    succeeded. With --report-only, only the page, from the recorded command and settings (the current
    ones where nothing is recorded yet)."""
    records = Records(args.docs)
    if args.report_only:
        if not records.runs:
            records.command, records.settings = command, settings
            records.facts.update(facts or {})
        write_report(study, records)
        print(f"report: {records.page}")
        return 0
    changes = changed_settings(records.settings, settings) if records.runs else []
    if changes:
        print(f"warning: the {len(records.runs)} recorded run(s) in {relative(records.path)} were made with other "
              f"settings ({'; '.join(changes)}); they are kept and not run again", file=sys.stderr)
    records.command, records.settings = command, settings
    records.facts.update(facts or {})
    records.save()
    chosen = args.stages or [stage.name for stage in study.stages]
    for stage in (stage for stage in study.stages if stage.name in chosen):
        declared = study.runs(records)
        by_name = {run.name: run for run in declared}
        of_stage = [run for run in declared if run.stage == stage.name]
        for run in of_stage:
            if run.name in records.runs:
                print(f"[{run.name}] already finished ({relative(records.path)})")
        todo = [run for run in of_stage if run.name not in records.runs]
        if not todo:
            continue
        try:
            todo = with_prerequisites(todo, by_name, records)
        except StudyError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        together = len([run for run in todo if run.stage == stage.name])
        parallel = together if stage.together else min(args.parallel or len(todo), len(todo))
        errors = train_runs(study, todo, records, args, parallel, max(1, args.threads // parallel))
        if errors:
            write_report(study, records)
            for error in errors:
                print(f"error: {error}", file=sys.stderr)
            return 1
    write_report(study, records)
    print(f"report: {records.page}")
    return 0
