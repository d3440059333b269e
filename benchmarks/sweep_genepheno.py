"""The validation sweep behind the quick preset's GenePheno settings (not a test; never reads test).

    .venv/bin/python benchmarks/sweep_genepheno.py [--dataset mpo] [--preset quick] [--seed 0]
        [--only NAME ...] [--out runs/<preset>/genepheno/<dataset>/val_sweep.csv]

Each row of ``SWEEP`` is the preset's ``genepheno`` block with a few fields changed; every setting is
trained once (seed ``--seed``) into a temporary folder, early-stopped on validation Fmax like any run,
and scored on the VALIDATION split: Fmax and macro AUC. One CSV row per setting is appended to
``--out`` (written atomically), so the table the settings were chosen from can be regenerated. The
rule used to choose: the highest validation Fmax + AUC.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

SWEEP: dict[str, dict] = {
    "preset": {},
    "paper loss (unanchored, summed)": {"loss": "contrastive", "loss_reduction": "sum"},
    "paper loss, averaged per term set": {"loss": "contrastive"},
    "anchored + BCE": {"loss": "anchored+bce"},
    "BCE": {"loss": "bce"},
    "ZLPR": {"loss": "zlpr"},
    "lambda_go 0": {"lambda_go": 0.0},
    "lambda_go 0.1": {"lambda_go": 0.1},
    "lambda_go 1": {"lambda_go": 1.0},
    "lambda_ex 0": {"lambda_ex": 0.0},
    "lambda_ex 1": {"lambda_ex": 1.0},
    "lambda_ex 3": {"lambda_ex": 3.0},
    # checked later (issue 7, last stop): none beat the preset beyond seed noise
    "go_min_count 2 (the GO MLP's)": {"go_min_count": 2},
    "dropout 0.3 (the GO MLP's)": {"dropout": 0.3},
    "dropout 0.5": {"dropout": 0.5},
    "half the epochs": {"epochs": 6},
    # issue 20's gap decomposition: the same network with its phenotype head on the MLP (no bottleneck)
    "direct head (no concept bottleneck)": {"concept_bottleneck": False},
}


def markdown(table: pd.DataFrame) -> str:
    """A sweep's CSV as a Markdown table (percent), in the order the rows were run."""
    lines = ["| dataset | setting | seed | val Fmax | val AUC | best epoch | wall s |", "|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        lines.append(f"| {r['dataset']} | {r['setting']} | {r['seed']} | {100 * r['val_fmax']:.2f} | "
                     f"{100 * r['val_auc']:.2f} | {r['best_epoch']} | {r['wall_s']:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mpo")
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", choices=list(SWEEP), help="run only these settings")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = sweep(SWEEP, args.only or list(SWEEP), args.dataset, args.preset, args.seed, args.out)
    from g2p import atomic

    atomic.write_text(out.with_suffix(".md"), markdown(pd.read_csv(out)))


def sweep(settings: dict[str, dict], names: list[str], dataset_name: str, preset: str, seed: int,
          out: Path | None = None, record: Callable[[object], dict] | None = None) -> Path:
    """Train each of ``names`` (a key of ``settings``: fields changed on top of the preset) once and
    append its validation row to ``out``; ``record(result)`` adds columns of the run's own."""
    from g2p import config as g2p_config
    from g2p import atomic, paths
    from g2p.data.curated import load
    from g2p.genepheno import metrics, predict, train

    dataset = load(dataset_name)
    y_val = dataset.labels[dataset.split_index("val")]
    out = out or paths.run_dir(preset, f"genepheno/{dataset_name}") / "val_sweep.csv"
    base = g2p_config.resolve(preset).genepheno(seed=seed, progress=False)
    rows = pd.read_csv(out).to_dict("records") if out.exists() else []
    for name in names:
        config = dataclasses.replace(base, **settings[name])
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="g2p-sweep-") as tmp:
            result = train.train(dataset, config, Path(tmp) / "run", resume=False)
            scores = predict.predict_scores(result.best_dir, dataset, "val")
            extra = record(result) if record else {}  # reads the run folder: before it is removed
        row = {"dataset": dataset_name, "setting": name, "changes": json.dumps(settings[name]), "seed": seed,
               "val_fmax": metrics.fmax(y_val, scores)[0], "val_auc": metrics.macro_auc(y_val, scores),
               "best_epoch": int(result.extra.get("best_epoch", 0)), "wall_s": time.perf_counter() - started,
               **extra}
        print(json.dumps(row), flush=True)
        rows.append(row)
        atomic.write_text(out, pd.DataFrame(rows).to_csv(index=False))
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
