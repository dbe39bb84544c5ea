"""The command lines lung-hpo suggests: pasteable as printed, and never holding a secret."""

from __future__ import annotations

from pathlib import Path

from hpo.study.hints import dashboard_command, finalize_command, worker_command


def test_the_dashboard_command_names_only_what_is_not_the_default() -> None:
    assert dashboard_command("sqlite:///hpo.db", Path("hpo-artifacts")) == "`hpo dashboard`"
    assert (
        dashboard_command("sqlite:///runs/lung.db", Path("runs/lung-artifacts"))
        == "`hpo dashboard --storage sqlite:///runs/lung.db`"
    )
    assert dashboard_command("sqlite:///hpo.db", Path("/data/figures")) == "`hpo dashboard --artifacts /data/figures`"


def test_a_storage_password_is_never_written_out() -> None:
    url = "postgresql://hpo:s3cret@db.example/hpo"
    for command in (
        dashboard_command(url, Path("/shared/artifacts")),
        worker_command("lungs", url),
        finalize_command("lungs", url),
    ):
        assert "s3cret" not in command and "***" not in command
        assert command.endswith("(with HPO_STORAGE set to the storage URL)")
    assert worker_command("lungs", url) == "`hpo worker lungs` (with HPO_STORAGE set to the storage URL)"
