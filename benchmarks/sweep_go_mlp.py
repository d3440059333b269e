"""The validation sweep of the DeepPheno-like GO MLP (not a test; never reads test), the counterpart of
``sweep_genepheno.py``: the baseline GenePheno is compared with gets the same tuning effort, so the
comparison in chapter 03 is not won by selection.

    .venv/bin/python benchmarks/sweep_go_mlp.py [--dataset mpo] [--preset quick] [--seed 0]
        [--only NAME ...] [--out benchmarks/go_mlp_sweep.csv]

Each row of ``SWEEP`` is the preset's ``03_evaluate.baselines`` settings (with GenePheno's epoch budget
and patience, as the benchmark runs it) with a few fields changed; the GO MLP is fitted once (seed
``--seed``) on the training genes, early-stopped on validation Fmax like every trained method, and scored
on the VALIDATION split. Rows are appended to ``--out`` (written atomically); the Markdown table beside it
(same name, ``.md``) is rewritten from the whole CSV. The rule used to choose: the highest validation
Fmax + AUC; a setting must beat the preset by more than the seed sd to replace it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import pandas as pd
from sweep_genepheno import markdown  # same folder

HERE = Path(__file__).resolve().parent
SWEEP: dict[str, dict] = {
    "preset": {},
    "hidden 256": {"hidden": 256},
    "hidden 1024": {"hidden": 1024},
    "dropout 0.1": {"dropout": 0.1},
    "dropout 0.5": {"dropout": 0.5},
    "lr 3e-4": {"lr": 3e-4},
    "lr 3e-3": {"lr": 3e-3},
    "weight decay 1e-4": {"weight_decay": 1e-4},
    "min_go_count 1": {"min_go_count": 1},
    "min_go_count 5": {"min_go_count": 5},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mpo")
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", choices=list(SWEEP), help="run only these settings")
    parser.add_argument("--out", type=Path, default=HERE / "go_mlp_sweep.csv")
    args = parser.parse_args()

    from g2p import atomic
    from g2p import config as g2p_config
    from g2p.data.curated import load
    from g2p.genepheno import metrics
    from g2p.genepheno.baselines import DeepPhenoLike

    dataset = load(args.dataset)
    y_val = dataset.labels[dataset.split_index("val")]
    base = g2p_config.resolve(args.preset).baselines(seed=args.seed)
    rows = pd.read_csv(args.out).to_dict("records") if args.out.exists() else []
    for name in args.only or list(SWEEP):
        config = dataclasses.replace(base, **SWEEP[name])
        started = time.perf_counter()
        model = DeepPhenoLike(config).fit(dataset)
        scores = model.predict(dataset, "val")
        history = model.history if model.history is not None else pd.DataFrame()
        best_epoch = int(history["val_fmax"].idxmax()) + 1 if "val_fmax" in history else 0
        row = {"dataset": args.dataset, "setting": name, "changes": json.dumps(SWEEP[name]), "seed": args.seed,
               "val_fmax": metrics.fmax(y_val, scores)[0], "val_auc": metrics.macro_auc(y_val, scores),
               "best_epoch": best_epoch, "wall_s": time.perf_counter() - started}
        print(json.dumps(row), flush=True)
        rows.append(row)
        atomic.write_text(args.out, pd.DataFrame(rows).to_csv(index=False))
    atomic.write_text(args.out.with_suffix(".md"), markdown(pd.read_csv(args.out)))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
