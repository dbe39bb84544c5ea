"""The report as a browser shows it: headless Chromium renders it offline, with every image.

Two runs of Chromium. The first takes a screenshot of ``report.html`` exactly as written and
checks it is not blank. The second checks that every ``<img>`` decoded: the report has no script
(its Content-Security-Policy forbids one), so the test renders a probe copy whose policy also
allows one inline script, still allows images only from ``data:`` URIs and nothing from the
network, and lists ``complete``, ``naturalWidth`` and ``naturalHeight`` of every image into the
page once it has loaded; ``--dump-dom`` prints the page and the test compares each image's size
with the PNG inside its data URI. A blocked or undecodable image has a natural width of 0. A
truncated PNG still shows its size in a browser, so Pillow also decodes every pixel of each one.

The study is made by hand (`optuna.trial.create_trial`), not trained, so that it has enough
completed trials for every plot, importances included, at no training cost.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.artifacts import upload_artifact
from optuna.distributions import CategoricalDistribution, FloatDistribution
from PIL import Image, ImageStat

from hpo.report import report_study
from hpo.study.presets import make_spec
from hpo.study.run import create_study
from objectives.data import parse_source
from objectives.figures import prediction_figure
from objectives.objective import FIGURE_ARTIFACT
from storage import open_artifact_store, open_storage
from tests.tiny import tiny_space

_DISTRIBUTIONS = {
    "learning_rate": FloatDistribution(1e-4, 1e-2, log=True),
    "dilated_layers": CategoricalDistribution([0, 1]),
    "augment": CategoricalDistribution([True, False]),
}
# learning rate, dilated layers, augmentation, DICE per epoch; None marks a pruned trial.
_TRIALS = [
    (1e-3, 1, True, [0.42, 0.71]),
    (3e-4, 0, True, [0.30, 0.52]),
    (5e-3, 1, False, [0.55, 0.83]),
    (2e-4, 0, False, [0.12, 0.25]),
    (8e-3, 1, True, [0.60, 0.78]),
    (1e-4, 0, True, [0.05, None]),
    (6e-4, 0, False, [0.33, 0.47]),
]
_CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
_PROBE = """<script>
window.addEventListener("load", () => {
  const found = Array.from(document.images, (image) => [image.complete, image.naturalWidth, image.naturalHeight]);
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
});
</script>
</body>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("HPO_REQUIRE_CHROMIUM") == "1":
        pytest.fail("HPO_REQUIRE_CHROMIUM=1 but no chromium on PATH")
    pytest.skip("chromium is not installed")


def _figure(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    images = rng.random((2, 32, 32, 1), dtype=np.float32)
    masks = np.zeros_like(images)
    masks[:, 8:24, 6:26] = 1.0
    return prediction_figure(images, masks, np.clip(masks + rng.normal(0, 0.3, masks.shape), 0, 1))


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("render")
    storage, artifacts = f"sqlite:///{folder / 'studies.db'}", folder / "artifacts"
    spec, _ = make_spec(parse_source("synthetic:12"), tiny_space(), n_trials=len(_TRIALS))
    study = create_study(storage, "render", spec).study
    store, optuna_storage = open_artifact_store(artifacts), open_storage(storage, must_exist=True)
    for number, (learning_rate, dilated, augment, curve) in enumerate(_TRIALS):
        epochs = [dice for dice in curve if dice is not None]
        # Running at first, as in a worker: Optuna attaches artifacts to unfinished trials only.
        study.add_trial(
            optuna.trial.create_trial(
                state=optuna.trial.TrialState.RUNNING,
                params={"learning_rate": learning_rate, "dilated_layers": dilated, "augment": augment},
                distributions=_DISTRIBUTIONS,
                intermediate_values=dict(enumerate(epochs)),
                user_attrs={"epochs_run": len(epochs), "train_accuracy": 0.9, "val_accuracy": 0.8},
            )
        )
        if curve[-1] is None:
            study.tell(number, state=optuna.trial.TrialState.PRUNED)
            continue
        figure = folder / str(number) / FIGURE_ARTIFACT  # named as the objective names it
        figure.parent.mkdir()
        figure.write_bytes(_figure(number))
        trial = study.get_trials(deepcopy=False)[-1]
        upload_artifact(
            artifact_store=store,
            file_path=str(figure),
            study_or_trial=trial,
            storage=optuna_storage,
            mimetype="image/png",
        )
        study.tell(number, curve[-1])
    return report_study(storage, "render", artifacts, folder / "report")[0]


def test_every_plot_and_prediction_is_in_the_page(report_html: Path) -> None:
    page = report_html.read_text(encoding="utf-8")

    # Four plots (importances too: five completed trials), then the best and worst predictions.
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 6
    assert "Predictions of the best trial (trial 2, DICE 0.8300)" in page
    assert "Predictions of the worst trial (trial 3, DICE 0.2500)" in page


def _run(chromium: str, tmp_path: Path, *arguments: str) -> str:
    completed = subprocess.run(
        [chromium, *_CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def test_report_renders_offline_and_not_blank(chromium: str, report_html: Path, tmp_path: Path) -> None:
    screenshot = tmp_path / "report.png"

    _run(chromium, tmp_path, f"--screenshot={screenshot}", "--window-size=1200,3000", report_html.as_uri())

    with Image.open(screenshot) as image:
        rgb = image.convert("RGB")
    assert rgb.size == (1200, 3000)
    # Text, tables and plots: many colours and real contrast; a blank or error page has neither.
    assert len(rgb.getcolors(maxcolors=1 << 24) or ()) > 200
    assert ImageStat.Stat(rgb.convert("L")).stddev[0] > 20


def test_every_image_decodes_in_the_browser(chromium: str, report_html: Path, tmp_path: Path) -> None:
    page = report_html.read_text(encoding="utf-8")
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert policy is not None and "img-src data:" in policy[1] and "<script" not in page
    probe = tmp_path / "probe.html"
    probe.write_text(
        page.replace(policy[1], policy[1] + "; script-src 'unsafe-inline'").replace("</body>", _PROBE),
        encoding="utf-8",
    )
    expected = []
    for data in re.findall(r'<img src="data:image/png;base64,([^"]+)"', page):
        with Image.open(io.BytesIO(base64.b64decode(data, validate=True))) as image:
            image.load()  # decodes every pixel: a truncated PNG fails here, though a browser shows its top
            expected.append([True, *image.size])
    assert len(expected) == 6  # four plots, best and worst predictions

    dom = _run(chromium, tmp_path, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri())

    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.DOTALL)
    assert found is not None, dom[-2000:]
    assert json.loads(html.unescape(found[1])) == expected


def test_the_browser_shows_the_table_of_runs_first(chromium: str, report_html: Path, tmp_path: Path) -> None:
    dom = _run(chromium, tmp_path, "--dump-dom", report_html.as_uri())  # the DOM as Chromium parsed it

    runs = dom[dom.index("<h2>Runs</h2>") : dom.index("<h2>Predictions</h2>")]
    rows = re.findall(r"<tr>(.*?)</tr>", runs, re.DOTALL)
    completed = [trial for trial in _TRIALS if trial[3][-1] is not None]
    assert len(rows) == 1 + len(completed)  # the header, then one row per completed trial
    assert [re.findall(r"<td[^>]*>(.*?)</td>", row)[0] for row in rows[1:]] == ["#2", "#4", "#0", "#1", "#6", "#3"]
    assert "1 pruned trial(s)" in runs
    assert dom.index("<h2>Runs</h2>") < dom.index("<h2>Optimisation</h2>") < dom.index("<h2>Setup</h2>")
