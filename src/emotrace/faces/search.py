"""Optional hyperparameter search over :class:`FaceTrainConfig` with optuna (if installed)."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path
from typing import Any

from emotrace.errors import DependencyMissing
from emotrace.faces.train import FaceTrainConfig, train


def optuna_search(cfg: FaceTrainConfig, run_dir: str | Path, trials: int) -> tuple[Path, dict[str, Any]]:
    """Run ``trials`` trainings in ``run_dir/trial-NNN`` maximising val macro-F1.

    Searched: learning rate, weight decay, label smoothing, class-balance power, dropout.
    Returns the best trial's folder and its parameters (also written to ``optuna.json``).
    """
    if importlib.util.find_spec("optuna") is None:
        raise DependencyMissing("--optuna-trials needs optuna: pip install optuna")
    import optuna

    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)

    def objective(trial: Any) -> float:
        trial_cfg = dataclasses.replace(
            cfg,
            lr=trial.suggest_float("lr", 2e-4, 3e-3, log=True),
            weight_decay=trial.suggest_float("weight_decay", 1e-3, 0.1, log=True),
            label_smoothing=trial.suggest_float("label_smoothing", 0.0, 0.2),
            balance=trial.suggest_float("balance", 0.0, 1.0),
            dropout=trial.suggest_float("dropout", 0.0, 0.4),
            seed=cfg.seed + trial.number,
        )
        best = train(trial_cfg, run / f"trial-{trial.number:03d}")
        return float(best["val_macro_f1"])

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=cfg.seed))
    study.optimize(objective, n_trials=trials)
    summary = {
        "best_trial": study.best_trial.number,
        "best_value": study.best_value,
        "best_params": study.best_params,
        "trials": [{"number": t.number, "value": t.value, "params": t.params} for t in study.trials],
    }
    (run / "optuna.json").write_text(json.dumps(summary, indent=1))
    return run / f"trial-{study.best_trial.number:03d}", study.best_params
