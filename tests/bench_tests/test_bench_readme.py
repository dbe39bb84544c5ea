"""bench/README.md holds no figure typed by hand: it is what the committed results render."""

from __future__ import annotations

from bench.common import BENCH, readme_text


def test_the_committed_bench_readme_is_rendered_from_the_committed_results() -> None:
    assert (BENCH / "README.md").read_text() == readme_text(), "run `python -m bench.common` after changing results"
