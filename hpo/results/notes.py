"""What optuna-dashboard shows beside the plots: a study's setup and each trial's results, as notes.

The dashboard renders notes as Markdown. The study's note replaces the raw spec that would
otherwise sit in its attribute card: data, split, sampler, pruner, budget, the search space and,
once computed, the final test score. Each trial's note says what it reached, or when it was
pruned. Notes are written by the processes that change what they describe (creation, trials,
the final score), never by the dashboard.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

    from hpo.study.finalize import FinalScore
    from hpo.study.spec import StudySpec

__all__ = ["save_study_note", "save_trial_note", "study_note", "trial_note"]


def _value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def study_note(name: str, spec: StudySpec, final: FinalScore | None = None) -> str:
    """The study's setup in Markdown: what it searches, on what, and its honest score if any."""
    from objectives.space import PARAMETERS, Choice, Fixed

    lines = [f"## Study {name}", ""]
    if final is not None:
        lines += [f"**Final score:** {final.summary()}.", ""]
    elif spec.split.test:
        when = f"at its end ({spec.final_seeds} seeds)" if spec.scores_at_end else f"by `hpo study finalize {name}`"
        lines += [f"Final score on the locked test set: computed {when}; DICE below is validation DICE.", ""]
    else:
        lines += ["No locked test set: every DICE here is a validation score, and optimistic.", ""]
    lines += [
        "| setting | value |",
        "|---|---|",
        f"| data | `{spec.data}` |",
        f"| split | {spec.split_text()} (seed {spec.seed}) |",
        f"| sampler | {spec.sampler} |",
        f"| pruner | {spec.pruner} |",
        f"| budget | {spec.budget_text()} |",
        "",
        "| parameter | searched over |",
        "|---|---|",
    ]
    for definition in PARAMETERS:
        distribution = spec.space.distributions[definition.name]
        if isinstance(distribution, Fixed):
            shown = f"fixed {_value(distribution.value)}"
        elif isinstance(distribution, Choice):
            shown = ", ".join(_value(value) for value in distribution.values)
        else:
            scale = " (log)" if getattr(distribution, "log", False) else ""
            shown = f"{_value(distribution.low)} to {_value(distribution.high)}{scale}"
        lines.append(f"| {definition.name} | {shown} |")
    return "\n".join(lines) + "\n"


def trial_note(state: str, value: float | None, attrs: Mapping[str, Any]) -> str:
    """A trial's results in a few Markdown lines (``attrs``: its user attributes)."""
    epochs = attrs.get("epochs_run")
    if state == "PRUNED":
        ran = f" after {epochs} epoch(s)" if epochs is not None else ""
        return f"**Pruned**{ran}: its validation DICE trailed the other trials' at the same epoch.\n"
    if value is None:
        return f"**{state.title()}**: {attrs.get('failure', 'no result')}\n"
    stopped = attrs.get("early_stopping_epoch")
    lines = [
        f"**Validation DICE {value:.4f}**",
        "",
        "| result | value |",
        "|---|---|",
        f"| training accuracy | {_value(attrs.get('train_accuracy', '–'))} |",
        f"| validation accuracy | {_value(attrs.get('val_accuracy', '–'))} |",
        f"| validation IoU | {_value(attrs.get('val_iou', '–'))} |",
        f"| epochs | {epochs if epochs is not None else '–'}"
        + (f" (early stopping at epoch {stopped})" if stopped else "")
        + (f" (stopped by the {attrs['stopped_by']})" if attrs.get("stopped_by") else "")
        + " |",
        f"| seed | {attrs.get('seed', '–')} |",
    ]
    if "device" in attrs:
        details = ", ".join(str(attrs[key]) for key in ("keras_backend", "precision") if key in attrs)
        lines.append(f"| trained on | {attrs['device']}" + (f" ({details})" if details else "") + " |")
    return "\n".join(lines) + "\n"


def save_study_note(study: optuna.Study, spec: StudySpec, final: FinalScore | None = None) -> None:
    from optuna_dashboard import save_note

    save_note(study, study_note(study.study_name, spec, final))


def save_trial_note(trial: optuna.trial.Trial, state: str, value: float | None) -> None:
    from optuna_dashboard import save_note

    save_note(trial, trial_note(state, value, trial.user_attrs))
