"""bench/tune/optuna_tpe.py DATA OUT SEED TRIALS - Optuna's TPE (TPESampler
with its defaults: 10 random startup trials) on bench/tune/space.json's space,
each trial bench/tune/trial.sh, the objective recall@20 from its metrics.tsv.
Prints one line per trial: number, value, seconds since the start."""
import os
import subprocess
import sys
import time

import optuna

data, out, seed, trials = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
optuna.logging.set_verbosity(optuna.logging.WARNING)
start = time.time()


def recall20(path):
    with open(path) as f:
        next(f)
        for line in f:
            model, metric, k, value = line.rstrip("\n").split("\t")[:4]
            if metric == "recall" and k == "20":
                return float(value)
    raise RuntimeError(f"no recall@20 in {path}")


def objective(trial):
    env = dict(os.environ,
               lr=repr(trial.suggest_float("lr", 0.001, 0.1, log=True)),
               temperature=repr(trial.suggest_float("temperature", 0.02, 1, log=True)),
               dim=str(trial.suggest_categorical("dim", [16, 32, 64, 128])),
               dropout=repr(trial.suggest_float("dropout", 0, 0.5)),
               batch=str(trial.suggest_categorical("batch", [128, 256, 512, 1024])))
    env.pop("RS_TRACK", None)
    d = os.path.join(out, f"t{trial.number}")
    subprocess.run(["bench/tune/trial.sh", data, d], env=env, check=True)
    v = recall20(os.path.join(d, "metrics.tsv"))
    print(f"{trial.number}\t{v}\t{time.time() - start:.1f}", flush=True)
    return v


study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
study.optimize(objective, n_trials=trials)
