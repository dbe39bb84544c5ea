"""A study worker run in its own process by the PostgreSQL tests (not a test module).

It prints ``ready`` once the study is loaded, waits for a line on stdin so that every worker
starts together, then prints ``started N`` as each trial begins, before the trial's sleep.
With ``--sleep -1`` each trial waits for a line on stdin instead of sleeping: a test then acts
while the trial is known to be running and touching no database.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--study", required=True)
    parser.add_argument("--budget", type=int, required=True)
    parser.add_argument("--sleep", type=float, required=True)
    parser.add_argument("--heartbeat-interval", type=int, required=True)
    parser.add_argument("--grace-period", type=int, required=True)
    args = parser.parse_args()

    import optuna

    from storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(args.url, heartbeat_interval=args.heartbeat_interval, grace_period=args.grace_period)
    study = optuna.load_study(study_name=args.study, storage=storage)

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -10.0, 10.0)
        trial.set_user_attr("pid", os.getpid())
        print(f"started {trial.number}", flush=True)
        if args.sleep < 0:
            sys.stdin.readline()
        else:
            time.sleep(args.sleep)
        return x**2

    print("ready", flush=True)
    sys.stdin.readline()
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    study.optimize(objective, callbacks=[optuna.study.MaxTrialsCallback(args.budget, finished)])


if __name__ == "__main__":
    main()
