from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from hpo.cli import app
from hpo.study.finalize import load_final_score
from tests.terminal import NOISE
from tests.tiny import write_tiny_space

runner = CliRunner()


def _storage(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'studies.db'}"


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "study", "worker", "trial", "data"):
        assert command in result.output


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from hpo.cli import app\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "heavy = ('keras', 'tensorflow', 'mdai', 'jax', 'torch', 'optuna.visualization')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_python_dash_m_works() -> None:
    completed = subprocess.run([sys.executable, "-m", "hpo", "--help"], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0
    assert "demo" in completed.stdout


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["study", "create", "s", "--sampler", "annealing"], "annealing"),
        (["study", "create", "s", "--pruner", "sometimes"], "sometimes"),
        (["study", "create", "s", "--n-trials", "0"], "greater than or equal to 1"),
        (["--backend", "theano", "demo"], "theano"),
    ],
)
def test_invalid_choices_are_rejected(arguments: list[str], expected: str) -> None:
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2
    assert expected in result.output


def test_bad_space_file_names_the_key(tmp_path: Path) -> None:
    space = tmp_path / "space.toml"
    space.write_text("[space]\nrotation = { low = 0, high = 400 }\n")
    result = runner.invoke(app, ["study", "create", "s", "--storage", _storage(tmp_path), "--space", str(space)])
    assert result.exit_code == 1
    assert "space.rotation.high" in result.output
    assert "Traceback" not in result.output


def test_bad_storage_url_is_one_clear_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["study", "create", "s", "--storage", "mysql://root:hunter2@localhost/x"])
    assert result.exit_code == 1
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output


def test_create_worker_replay_end_to_end(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    storage = _storage(tmp_path)
    space = write_tiny_space(tmp_path)
    create = ["study", "create", "tiny", "--storage", storage, "--data", "synthetic:12", "--space", str(space),
              "--n-trials", "2", "--val-fraction", "0.25", "--final-seeds", "1"]  # fmt: skip
    created = runner.invoke(app, create)
    assert created.exit_code == 0, created.output
    assert "Created study 'tiny'" in created.output
    assert "at its end, the best configuration retrained 1 time(s) and scored on the test set" in created.stdout

    again = runner.invoke(app, create)
    assert again.exit_code == 1
    assert "already exists" in again.output

    # One trial per process: the supervisor starts a fresh child after each.
    worked = runner.invoke(app, ["worker", "tiny", "--storage", storage, "--artifacts", str(tmp_path / "art"),
                                 "--recycle-after", "1"])  # fmt: skip
    assert worked.exit_code == 0, worked.output
    study = optuna.load_study(study_name="tiny", storage=storage)
    finished = [t for t in study.trials if t.state.is_finished() and t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 2
    assert all(0.0 <= t.value <= 1.0 for t in finished if t.value is not None)
    # Two processes, one supervisor: both trials carry its group.
    assert len({t.user_attrs["worker"] for t in finished}) == 2
    assert len({t.user_attrs["worker_group"] for t in finished}) == 1
    # The study is over: the worker (a child process, writing to the terminal itself) scored
    # its best configuration on the locked test set.
    printed = capfd.readouterr()
    assert "the study is over: retraining" in printed.err  # progress
    assert "Final score of study 'tiny': test DICE " in printed.out  # the result
    # One summary for the whole worker, from the supervisor; its children, each of which ran one
    # trial, print none of their own.
    assert "Worker finished" not in printed.out + printed.err
    assert worked.stdout.count("Worker finished") == 1 and "Worker finished: 2 trial(s) run." in worked.stdout
    assert load_final_score(study) is not None

    finished_again = runner.invoke(app, ["worker", "tiny", "--storage", storage])
    assert finished_again.exit_code == 0
    assert "0 trial(s) run; the study is already over" in finished_again.output

    replay = runner.invoke(app, ["trial", "replay", "tiny", "0", "--storage", storage, "--format", "json"])
    assert replay.exit_code == 0, replay.output
    assert '"val_dice"' in replay.output

    missing = runner.invoke(app, ["worker", "nope", "--storage", storage])
    assert missing.exit_code == 1
    assert "no study named 'nope'" in missing.output


@pytest.mark.slow
def test_demo_runs_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    # The final score at the demo's end is checked on a real process in test_quiet_terminal.
    first = runner.invoke(app, ["demo", "--n-trials", "2", "--final-seeds", "0"])
    assert first.exit_code == 0, first.output
    assert "Best trial of study 'demo'" in first.output
    assert "hpo study finalize demo" in first.stdout  # not scored yet: the command that scores it
    assert "Open the study in optuna-dashboard:\n  `hpo dashboard`" in first.stdout
    assert (tmp_path / "hpo.db").exists()

    second = runner.invoke(app, ["demo", "--n-trials", "2", "--format", "json"])
    assert second.exit_code == 0, second.output
    assert "Resuming study 'demo' (2 trials done)" in second.stderr
    assert json.loads(second.stdout)["study"] == "demo"  # stdout holds the result alone
    study = optuna.load_study(study_name="demo", storage="sqlite:///hpo.db")
    assert len(study.trials) == 2
    assert study.metric_names == ["validation DICE"]  # optuna-dashboard's label for the objective


@pytest.mark.slow
def test_ctrl_c_requeues_the_running_trial(tmp_path: Path) -> None:
    import signal
    import time

    storage = _storage(tmp_path)
    space = write_tiny_space(tmp_path)
    # Many long epochs, so the trial is still training when the signal arrives, however loaded the machine.
    tiny = space.read_text().replace("steps_per_epoch = 2", "steps_per_epoch = 40")
    space.write_text(tiny.replace("max_epochs = 2", "max_epochs = 50").replace("patience = 2", "patience = 50"))
    create = ["study", "create", "c", "--storage", storage, "--data", "synthetic:12", "--space", str(space),
              "--n-trials", "1", "--val-fraction", "0.25", "--final-seeds", "0"]  # fmt: skip
    assert runner.invoke(app, create).exit_code == 0
    log = tmp_path / "worker.log"
    with log.open("w") as sink:
        # As from a terminal: a runner started in the background inherits SIGINT ignored, and
        # Python would keep ignoring it.
        worker = subprocess.Popen(
            [sys.executable, "-m", "hpo", "worker", "c", "--storage", storage],
            stdout=sink,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            running = optuna.load_study(study_name="c", storage=storage).get_trials(
                states=(optuna.trial.TrialState.RUNNING,)
            )
            if running and running[0].intermediate_values:
                break
            time.sleep(0.3)
        else:
            pytest.fail("no trial reported an epoch in time:\n" + log.read_text())
        worker.send_signal(signal.SIGINT)
        assert worker.wait(timeout=300) != 0, log.read_text()
    finally:
        if worker.poll() is None:  # never leave a worker behind for the next test
            worker.kill()
            worker.wait()
    interrupted = running[0].number

    study = optuna.load_study(study_name="c", storage=storage)
    trials = {trial.number: trial for trial in study.trials}
    assert trials[interrupted].state == optuna.trial.TrialState.FAIL
    (queued,) = [t for t in trials.values() if t.state == optuna.trial.TrialState.WAITING]
    assert queued.user_attrs["retry_of"] == interrupted
    assert queued.system_attrs["fixed_params"] == trials[interrupted].params
    # What the terminal showed: one line saying what was re-queued, no traceback, no library log.
    shown = log.read_text()
    assert shown.count(f"stopped by SIGINT: trial #{interrupted} failed and its parameters are queued again") == 1
    assert not NOISE.search(shown), shown


@pytest.mark.slow
def test_worker_processes_are_recycled(tmp_path: Path) -> None:
    storage = _storage(tmp_path)
    space = write_tiny_space(tmp_path)
    create = ["study", "create", "r", "--storage", storage, "--data", "synthetic:12", "--space", str(space),
              "--n-trials", "3", "--val-fraction", "0.25", "--final-seeds", "0"]  # fmt: skip
    assert runner.invoke(app, create).exit_code == 0
    result = runner.invoke(app, ["worker", "r", "--storage", storage, "--recycle-after", "1"])
    assert result.exit_code == 0, result.output
    trials = optuna.load_study(study_name="r", storage=storage).trials
    assert len(trials) == 3
    assert len({trial.user_attrs["worker"] for trial in trials}) == 3  # one fresh process per trial
