"""The report's one list of sections, and its two emitters."""

from __future__ import annotations

import re

from hpo.report.analysis import ParameterTable, TableRow
from hpo.report.render import (
    Figure,
    Heading,
    ReportImage,
    StudyReport,
    Table,
    document,
    render_html,
    render_markdown,
)

_PNG = b"\x89PNG\r\n\x1a\nnot really"
_ROW = TableRow("8", 3, 1, 0.9, 0.8, 0.75, 12.5, 6.0, 1)


def _report() -> StudyReport:
    return StudyReport(
        study_name="lungs",
        generated="today",
        summary=("Best: trial 1.",),
        setup=(("Study", "lungs"),),
        space=(("batch_size", "one of 8, 16", "images per batch", "yes"),),
        tables=(ParameterTable("batch_size", False, (_ROW,)),),
        importances={"batch_size": 0.75, "loss": 0.25},
        plots=(
            ReportImage("history.png", "Optimisation history", _PNG, "DICE per trial."),
            ReportImage("importances.png", "Parameter importances", _PNG),
        ),
        predictions=(ReportImage("predictions-best.png", "Predictions of the best trial", None, "No figure."),),
        factors=(ParameterTable("batch size", False, (_ROW,)),),
    )


def test_html_and_markdown_hold_the_same_headings_in_the_same_order() -> None:
    report = _report()
    headings = [(block.level, block.text) for block in document(report) if isinstance(block, Heading)]

    in_html = [(int(level), text) for level, text in re.findall(r"<h(\d)>(.*?)</h\1>", render_html(report))]
    in_markdown = [(len(hashes), text) for hashes, text in re.findall(r"^(#+) (.*)$", render_markdown(report), re.M)]

    assert in_html == in_markdown == headings
    # Results first, as in the researchers' write-up; the setup closes the report.
    assert headings[:4] == [(1, "Study lungs"), (2, "Summary"), (2, "Runs"), (2, "Predictions")]
    assert [text for level, text in headings if level == 2][-1] == "Setup"
    assert (3, "batch_size: images per batch") in headings and (3, "batch size") in headings


def test_a_table_row_is_formatted_once_for_both_formats() -> None:
    report = _report()
    cells = ("8", "3", "1", "0.900", "0.800", "0.750", "12.5", "6.0 (1 of 2)")

    tables = [block for block in document(report) if isinstance(block, Table) and block.rows[0][0] == "8"]

    assert [table.rows for table in tables] == [(cells,), (cells,)]  # the factor table and the parameter table
    assert "| " + " | ".join(cells) + " |" in render_markdown(report)
    assert '<td>8</td><td class="num">3</td>' in render_html(report)


def test_importances_follow_their_plot_and_missing_figures_keep_their_note() -> None:
    blocks = document(_report())

    importance_plot = next(
        index
        for index, block in enumerate(blocks)
        if isinstance(block, Figure) and block.image.file_name == "importances.png"
    )
    assert blocks[importance_plot + 1] == Table(
        ("parameter", "importance"), (("batch_size", "0.750"), ("loss", "0.250")), numeric_from=1
    )
    markdown = render_markdown(_report())
    assert "> No figure." in markdown and "![Optimisation history](history.png)\n\nDICE per trial." in markdown
    assert '<p class="missing">No figure.</p>' in render_html(_report())
