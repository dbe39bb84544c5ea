"""The report as text: one list of blocks, written out as HTML or as Markdown.

`document` turns a `StudyReport` into headings, paragraphs, bullet lists, tables and figures,
once; `render_html` and `render_markdown` are two small emitters of that list, so both formats
always hold the same sections in the same order.

The HTML stands alone: images are ``data:`` URIs, CSS is inline, fonts are the system's, and a
Content-Security-Policy forbids loading anything else, so it opens offline and can be mailed.
The Markdown links its images as PNG files beside it (`ReportImage.file_name`).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from dataclasses import dataclass

from hpo.report.analysis import RUN_HEADERS, ParameterTable, TableRow
from objectives.space import PARAMETERS

__all__ = [
    "IMPORTANCES_PNG",
    "Block",
    "Bullets",
    "Figure",
    "Heading",
    "Paragraph",
    "ReportImage",
    "StudyReport",
    "Table",
    "document",
    "render_html",
    "render_markdown",
]

IMPORTANCES_PNG = "importances.png"  # the plot the table of importances follows


@dataclass(frozen=True)
class ReportImage:
    """A PNG of the report, or the reason it is missing."""

    file_name: str  # beside report.md
    title: str
    png: bytes | None
    note: str = ""  # a caption, or why there is no image


@dataclass(frozen=True)
class StudyReport:
    """Everything the HTML and Markdown show, already formatted where it is text."""

    study_name: str
    generated: str
    summary: tuple[str, ...]
    setup: tuple[tuple[str, str], ...]
    space: tuple[tuple[str, str, str, str], ...]  # parameter, distribution, meaning, tuned
    tables: tuple[ParameterTable, ...]
    importances: Mapping[str, float]
    plots: tuple[ReportImage, ...]
    predictions: tuple[ReportImage, ...]
    factors: tuple[ParameterTable, ...] = ()  # one-factor-at-a-time tables (the seed preset)
    runs: tuple[tuple[str, ...], ...] = ()  # the table of runs, `RUN_HEADERS`, best first
    pruned: str | None = None  # one sentence on the pruned trials


# The document: what both emitters understand.


@dataclass(frozen=True)
class Heading:
    text: str
    level: int  # 1 to 3


@dataclass(frozen=True)
class Paragraph:
    text: str
    style: str = ""  # "meta" or "note": shown smaller and grey in HTML; plain text in Markdown


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric_from: int | None = None  # columns from this index on are right-aligned in HTML
    key_value: bool = False  # a listing of settings: HTML shows no header row


@dataclass(frozen=True)
class Figure:
    image: ReportImage  # shown with its note as the caption, or the note alone when there is no PNG


Block = Heading | Paragraph | Bullets | Table | Figure

_TABLE_HEADERS = ("value", "trials", "pruned", "train acc", "val acc", "DICE", "run time (s)", "early stop (epoch)")
_TABLE_NOTE = (
    "Parameters that took a few distinct values; ranges sampled continuously are in the plots below. "
    "Means are over each row's completed trials; pruned trials are counted but not averaged. "
    "Run time is a trial's wall time. Early stop: mean epoch at which early stopping ended a run, "
    "and how many of the completed runs it ended."
)
_RUNS_NOTE = (
    "One row per completed trial, highest validation DICE first. Epochs: those run of those allowed; "
    "early stop: the epoch at which early stopping ended the run (the weights kept are its best epoch's)."
)
_FACTOR_NOTE = (
    "Each table holds the baseline run and the runs that changed one factor alone, as in a "
    "one-factor-at-a-time study: value, training accuracy, validation accuracy, DICE, run time "
    "and the epoch at which early stopping ended the run."
)
_HELP = {definition.name: definition.help for definition in PARAMETERS}


def _cell(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _row_cells(row: TableRow) -> tuple[str, ...]:
    stopped = (
        "–"
        if row.early_stopping_epoch is None
        else f"{row.early_stopping_epoch:.1f} ({row.early_stopped} of {row.completed})"
    )
    return (
        row.label,
        str(row.trials),
        str(row.pruned),
        _cell(row.train_accuracy),
        _cell(row.val_accuracy),
        _cell(row.dice),
        _cell(row.wall_time_s, 1),
        stopped,
    )


def _results(title: str, table: ParameterTable) -> list[Block]:
    return [Heading(title, 3), Table(_TABLE_HEADERS, tuple(_row_cells(row) for row in table.rows), numeric_from=1)]


def _optimisation(report: StudyReport) -> list[Block]:
    blocks: list[Block] = [Heading("Optimisation", 2)]
    for image in report.plots:
        blocks += [Heading(image.title, 3), Figure(image)]
        if image.file_name == IMPORTANCES_PNG and report.importances:
            rows = tuple((param, f"{value:.3f}") for param, value in report.importances.items())
            blocks.append(Table(("parameter", "importance"), rows, numeric_from=1))
    return blocks


def document(report: StudyReport) -> tuple[Block, ...]:
    """The report's blocks, in reading order: the one description of its sections.

    Results first, as in the researchers' write-up: the summary (with the final test score),
    the table of runs, the best and worst runs' predictions; then the analysis and the setup.
    """
    blocks: list[Block] = [
        Heading(f"Study {report.study_name}", 1),
        Paragraph(f"Generated by lung-hpo on {report.generated}.", "meta"),
        Heading("Summary", 2),
        Bullets(report.summary),
        Heading("Runs", 2),
    ]
    if report.runs:
        blocks += [Paragraph(_RUNS_NOTE, "note"), Table(RUN_HEADERS, report.runs, numeric_from=4)]
    else:
        blocks.append(Paragraph("No trial has completed yet.", "note"))
    if report.pruned:
        blocks.append(Paragraph(report.pruned))
    blocks.append(Heading("Predictions", 2))
    for image in report.predictions:
        blocks += [Heading(image.title, 3), Figure(image)]
    if report.factors:
        blocks += [Heading("One factor at a time", 2), Paragraph(_FACTOR_NOTE, "note")]
        for table in report.factors:
            blocks += _results(table.name, table)
    discrete = [table for table in report.tables if not table.binned]
    if discrete:
        blocks += [Heading("Results by parameter", 2), Paragraph(_TABLE_NOTE, "note")]
        for table in discrete:
            meaning = _HELP.get(table.name)
            blocks += _results(f"{table.name}: {meaning}" if meaning else table.name, table)
    blocks += _optimisation(report)
    blocks += [
        Heading("Setup", 2),
        Table(("setting", "value"), report.setup, key_value=True),
        Heading("Search space", 3),
        Table(("parameter", "distribution", "meaning", "tuned"), report.space),
    ]
    return tuple(blocks)


# HTML

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1d2430; background: #ffffff; margin: 2rem auto; max-width: 1100px; padding: 0 1.5rem;
       line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.3rem; margin-top: 2.2rem; border-bottom: 1px solid #d5dbe3; padding-bottom: 0.2rem; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 0.4rem; }
.meta, .note, figcaption { color: #5a6473; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.4rem 0 1rem; font-size: 0.92rem; }
th, td { border: 1px solid #d5dbe3; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #eef2f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0 1.8rem; }
img { max-width: 100%; height: auto; border: 1px solid #e3e7ed; }
.missing { border: 1px dashed #c0392b; color: #8e2a1f; padding: 0.6rem 0.9rem; background: #fdf3f2; }
""".strip()

# Nothing may load from anywhere: only inline styles and data: images.
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _html_row(cells: tuple[str, ...], numeric_from: int | None) -> str:
    out = []
    for index, cell in enumerate(cells):
        css = ' class="num"' if numeric_from is not None and index >= numeric_from else ""
        out.append(f"<td{css}>{html.escape(cell)}</td>")
    return "<tr>" + "".join(out) + "</tr>"


def _html_table(table: Table) -> str:
    titles = "".join(f"<th>{html.escape(header)}</th>" for header in table.headers)
    head = "" if table.key_value else f"<thead><tr>{titles}</tr></thead>"
    body = "".join(_html_row(row, table.numeric_from) for row in table.rows)
    return f"<table>{head}<tbody>{body}</tbody></table>"


def _html_figure(image: ReportImage) -> str:
    if image.png is None:
        return f'<p class="missing">{html.escape(image.note)}</p>'
    data = base64.b64encode(image.png).decode("ascii")
    caption = f"<figcaption>{html.escape(image.note)}</figcaption>" if image.note else ""
    return f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(image.title)}">{caption}</figure>'


def _html_block(block: Block) -> str:
    match block:
        case Heading(text, level):
            return f"<h{level}>{html.escape(text)}</h{level}>"
        case Paragraph(text, style):
            css = f' class="{style}"' if style else ""
            return f"<p{css}>{html.escape(text)}</p>"
        case Bullets(items):
            return "<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in items) + "</ul>"
        case Table():
            return _html_table(block)
        case Figure(image):
            return _html_figure(image)
    raise AssertionError(f"unknown block {block!r}")


def render_html(report: StudyReport) -> str:
    """The report as one self-contained HTML page: no scripts, and nothing loaded from elsewhere."""
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>lung-hpo report: {html.escape(report.study_name)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
    ]
    body = [_html_block(block) for block in document(report)]
    return "\n".join([*head, *body, "</body>", "</html>", ""])


# Markdown


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> str:
    lines = ["| " + " | ".join(_md_escape(header) for header in table.headers) + " |"]
    lines.append("|" + "|".join("---" for _ in table.headers) + "|")
    lines += ["| " + " | ".join(_md_escape(cell) for cell in row) + " |" for row in table.rows]
    return "\n".join(lines)


def _md_block(block: Block) -> str:
    match block:
        case Heading(text, level):
            return f"{'#' * level} {text}"
        case Paragraph(text):
            return text
        case Bullets(items):
            return "\n".join(f"- {item}" for item in items)
        case Table():
            return _md_table(block)
        case Figure(image) if image.png is None:
            return f"> {image.note}"
        case Figure(image):
            return f"![{image.title}]({image.file_name})" + (f"\n\n{image.note}" if image.note else "")
    raise AssertionError(f"unknown block {block!r}")


def render_markdown(report: StudyReport) -> str:
    """The report as Markdown; its images are PNG files beside it (`ReportImage.file_name`)."""
    return "\n\n".join(_md_block(block) for block in document(report)) + "\n"
