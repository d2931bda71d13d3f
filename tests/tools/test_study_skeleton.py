"""fmm_tools.studies.skeleton: stages and prerequisites, resuming, result records beside the page, a
page rewritten from the records alone (identical, notes kept) and commands quoted as a reader types
them. fairseq-train is replaced by a stand-in that writes a log (the studies' own tests run it)."""
import argparse
import json
import shutil
from pathlib import Path

import pytest

from fmm_tools.paths import BIN
from fmm_tools.studies import skeleton
from fmm_tools.studies.skeleton import Finished, Line, Panel, Records, Run, Stage, Study

STAGES = [Stage("first"), Stage("second", together=True)]


@pytest.fixture
def trainings(monkeypatch):
    """Every command the skeleton runs, recorded instead of run (each 'trains' in no time)."""
    ran = []

    def run_measured(command, log, threads, cwd=skeleton.ROOT):
        command = [str(part) for part in command]
        ran.append(command)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as out:
            out.write(f"$ {' '.join(command)}\nvalue {len(ran)}\n")
        return Finished(log.read_text(), 0.5, 100.0)

    monkeypatch.setattr(skeleton, "run_measured", run_measured)
    return ran


def toy_study(fail=()):
    def runs(records):
        budget = records.settings["updates"]
        return [
            Run("base", "the base model", ["DATA", "--max-update", str(budget)], stage="first", facts={"size": 1}),
            Run("tuned", "tuned from the base", ["DATA", "--finetune-from-model", "SAVE/base"], seed=2, stage="second",
                after=("base",)),
            Run("scored", "scored only", None, stage="second", after=("base",)),
        ]

    def score(run, trained):
        if run.name in fail:
            raise RuntimeError("broken scorer")
        evaluation = [str(BIN / "fairseq-eval-lm"), "DATA", "--path", str(trained.save_dir / "best.pt")]
        trained.call(evaluation)
        return {"value": float(run.seed), "evaluation": skeleton.relative(evaluation)}

    def report(records):
        lines = [f"Budget: {records.settings['updates']} updates.", "", "| run | value | command |", "|---|---:|---|"]
        lines += [f"| {r['label']} | {r['value']:.1f} | `{r.get('command', r['evaluation'])}` |" for r in records.runs.values()]
        return lines + [f"![curves]({records.curves.name})", ""]

    def curves(records):
        return [Panel([Line(r["label"], [(0, r["value"]), (1, r["value"] / 2)]) for r in records.runs.values()], "value")]

    return Study("Toy study", "scripts/studies/toy.py", STAGES, runs, score, report, curves)


def options(tmp_path, **changes):
    values = dict(save_root=tmp_path / "checkpoints", out_root=tmp_path / "runs", docs=tmp_path / "docs" / "toy.md",
                  threads=4, parallel=None, stages=None, report_only=False)
    return argparse.Namespace(**{**values, **changes})


def test_runs_in_order_then_the_page_is_rewritten_from_its_records_alone(tmp_path, trainings, capsys):
    study, args = toy_study(), options(tmp_path)
    assert skeleton.run_study(study, args, {"updates": 3}, "python scripts/studies/toy.py --updates 3") == 0
    trained = [command for command in trainings if command[0].endswith("fairseq-train")]
    assert trained[0][0] == str(BIN / "fairseq-train")  # run through the environment's own command...
    assert trained[0][1:] == ["DATA", "--max-update", "3", "--seed", "1", "--save-dir", str(tmp_path / "checkpoints" / "base")]
    assert trainings.index(trained[0]) < trainings.index(trained[1])  # "tuned" after "base"
    page_path, records_path = tmp_path / "docs" / "toy.md", tmp_path / "docs" / "toy.json"
    page = page_path.read_text()
    # ...quoted as a reader types it
    assert f"| the base model | 1.0 | `fairseq-train DATA --max-update 3 --seed 1 --save-dir {tmp_path}/checkpoints/base` |" in page
    assert str(BIN) not in page and "`fairseq-eval-lm DATA --path " in page
    assert page.startswith("# Toy study\n\nProduced by `scripts/studies/toy.py`")
    assert "    python scripts/studies/toy.py --updates 3\n" in page and "Budget: 3 updates." in page
    records = json.loads(records_path.read_text())
    assert records["settings"] == {"updates": 3} and list(records["runs"]) == ["base", "scored", "tuned"]
    assert records["runs"]["tuned"]["seed"] == 2 and records["runs"]["base"]["size"] == 1
    assert records["runs"]["base"]["threads"] == 4 and records["runs"]["tuned"]["threads"] == 2  # "second": together
    assert (tmp_path / "docs" / "toy_curves.png").read_bytes()[:4] == b"\x89PNG"

    page_path.write_text(page + "\nMy reading of the numbers.\n")
    expected = page_path.read_text()
    moved = tmp_path / "elsewhere"  # the repository alone: the page and its records, no runs, no checkpoints
    moved.mkdir()
    for path in (page_path, records_path):
        shutil.copy(path, moved / path.name)
    before = len(trainings)
    rewritten = options(tmp_path / "gone", docs=moved / "toy.md", report_only=True)
    assert skeleton.run_study(study, rewritten, {"updates": 99}, "python scripts/studies/toy.py --updates 99") == 0
    assert (moved / "toy.md").read_text() == expected  # the recorded settings and command, the notes kept
    assert len(trainings) == before and not (tmp_path / "gone").exists()


def test_a_rerun_skips_finished_runs_and_keeps_the_notes(tmp_path, trainings, capsys):
    study, args = toy_study(), options(tmp_path)
    assert skeleton.run_study(study, args, {"updates": 3}, "first") == 0
    page = tmp_path / "docs" / "toy.md"
    page.write_text(page.read_text() + "\nNotes.\n")
    before = len(trainings)
    capsys.readouterr()
    assert skeleton.run_study(study, args, {"updates": 3}, "again") == 0
    assert len(trainings) == before
    out = capsys.readouterr().out
    assert "[base] already finished" in out and "[tuned] already finished" in out and "training" not in out
    assert page.read_text().endswith(skeleton.NOTES_MARKER + "\n\nNotes.\n")


def test_a_chosen_stage_trains_what_it_waits_for_first(tmp_path, trainings):
    assert skeleton.run_study(toy_study(), options(tmp_path, stages=["second"]), {"updates": 3}, "second only") == 0
    assert set(json.loads((tmp_path / "docs" / "toy.json").read_text())["runs"]) == {"base", "tuned", "scored"}


def test_runs_waiting_for_a_failed_one_are_not_started(tmp_path, trainings, capsys):
    assert skeleton.run_study(toy_study(fail=("base",)), options(tmp_path), {"updates": 3}, "fails") == 1
    err = capsys.readouterr().err
    assert "[base] broken scorer" in err
    assert not json.loads((tmp_path / "docs" / "toy.json").read_text())["runs"]
    assert skeleton.run_study(toy_study(fail=("scored",)), options(tmp_path), {"updates": 3}, "fails later") == 1
    runs = json.loads((tmp_path / "docs" / "toy.json").read_text())["runs"]
    assert set(runs) == {"base", "tuned"} and "[scored] broken scorer" in capsys.readouterr().err


def test_other_settings_are_reported_and_the_recorded_runs_kept(tmp_path, trainings, capsys):
    assert skeleton.run_study(toy_study(), options(tmp_path), {"updates": 3}, "first") == 0
    capsys.readouterr()
    assert skeleton.run_study(toy_study(), options(tmp_path), {"updates": 5}, "second") == 0
    assert "made with other settings (updates 3 -> 5)" in capsys.readouterr().err


def test_a_checkpoint_past_the_run_budget_stops_it(tmp_path, trainings, monkeypatch):
    monkeypatch.setattr(skeleton, "checkpoint_updates", lambda checkpoint: 7)
    (tmp_path / "checkpoints" / "base").mkdir(parents=True)
    (tmp_path / "checkpoints" / "base" / "checkpoint_last.pt").write_bytes(b"")
    assert skeleton.run_study(toy_study(), options(tmp_path), {"updates": 3}, "resumed") == 1
    assert not trainings


def test_unknown_stages_are_refused_by_the_parser(capsys):
    parser = skeleton.study_parser("Toy.", STAGES, page=Path("docs/toy.md"), save_root=Path("c"), out_root=Path("r"))
    with pytest.raises(SystemExit):
        parser.parse_args(["--stages", "first,third"])
    assert "unknown stage(s): third (known: first, second)" in capsys.readouterr().err


def test_records_are_kept_in_name_order_whatever_order_runs_finish(tmp_path):
    records = Records(tmp_path / "page.md")
    for name in ("b", "c", "a"):
        records.add({"name": name})
    assert list(records.runs) == ["a", "b", "c"] == list(Records(tmp_path / "page.md").runs)
