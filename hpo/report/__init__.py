"""A study's report: tables per parameter, plots and predictions, as HTML and Markdown.

`report_study` reads a study and writes ``report.html`` (one file that opens offline) and
``report.md`` with its PNGs. Inside: `analysis` (pure functions of the trial records), `plots`
(the figures), `render` (one list of sections, emitted as HTML and as Markdown) and `build` (the
reading and writing).
"""

from __future__ import annotations

from hpo.report.build import build_report, report_study, write_report
from hpo.report.render import ReportImage, StudyReport, render_html, render_markdown

__all__ = [
    "ReportImage",
    "StudyReport",
    "build_report",
    "render_html",
    "render_markdown",
    "report_study",
    "write_report",
]
