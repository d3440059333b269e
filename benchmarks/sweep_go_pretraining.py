"""The validation sweep behind the presets' GO pretraining settings (not a test; never reads test).

    .venv/bin/python benchmarks/sweep_go_pretraining.py [--dataset mpo] [--preset quick] [--seed 0]
        [--only NAME ...] [--out benchmarks/go_pretraining_sweep.csv]

Each row of ``SWEEP`` is the preset's ``genepheno`` block with ``go_pretraining`` replaced (``None``: no
pretraining); every setting is fine-tuned once (seed ``--seed``) in a temporary folder, early-stopped on
validation Fmax, and scored on the VALIDATION split (:func:`sweep_genepheno.sweep`). Beside Fmax and AUC
each row records what the pretraining cost when it was built (seconds on one thread, as notebook 02's
workers run it; one reused from ``data/cache`` reports the run that built it), its corpus size and its
loss at the start and the end. Rows are appended to ``--out``; the Markdown table beside it
(same name, ``.md``) is rewritten from the whole CSV. The rule used to choose: the highest validation
Fmax + AUC, and a setting must beat "no pretraining" by more than the complete model's seed sd to be
switched on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from sweep_genepheno import sweep  # same folder

HERE = Path(__file__).resolve().parent
SWEEP: dict[str, dict] = {
    "no pretraining": {"go_pretraining": None},
    "200 steps": {"go_pretraining": {"steps": 200}},
    "500 steps": {"go_pretraining": {"steps": 500}},
    "200 steps, mask 0.3": {"go_pretraining": {"steps": 200, "mask_frac": 0.3}},
    "200 steps, fine-tuned at lr x0.25": {"go_pretraining": {"steps": 200, "finetune_lr_scale": 0.25}},
    "200 steps + GO bag": {"go_pretraining": {"steps": 200, "bag": True}},
    "100 steps, 8,000 proteins": {"go_pretraining": {"steps": 100, "max_proteins": 8000}},
    "2000 steps": {"go_pretraining": {"steps": 2000}},
    "1000 steps + GO bag": {"go_pretraining": {"steps": 1000, "bag": True}},
}


def pretraining_columns(result) -> dict:
    """What the run's pretraining cost and reached (from its ``result.json``)."""
    import json

    record = json.loads((Path(result.output_dir) / "result.json").read_text()).get("go_pretraining") or {}
    return {"pretrain_s": record.get("seconds", 0.0), "pretrain_proteins": record.get("n_proteins", 0),
            "pretrain_first_loss": record.get("first_loss"), "pretrain_last_loss": record.get("last_loss")}


def markdown(table: pd.DataFrame) -> str:
    """The sweep as a Markdown table (percent), in the order the rows were run."""
    lines = ["| dataset | setting | seed | val Fmax | val AUC | best epoch | pretraining s | proteins | MLM loss first → last |",
             "|---|---|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        loss = ("–" if pd.isna(r.get("pretrain_first_loss")) else
                f"{r['pretrain_first_loss']:.2f} → {r['pretrain_last_loss']:.2f}")
        lines.append(f"| {r['dataset']} | {r['setting']} | {r['seed']} | {100 * r['val_fmax']:.2f} | "
                     f"{100 * r['val_auc']:.2f} | {r['best_epoch']} | {r['pretrain_s']:.1f} | "
                     f"{int(r['pretrain_proteins']):,} | {loss} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mpo")
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", choices=list(SWEEP), help="run only these settings")
    parser.add_argument("--out", type=Path, default=HERE / "go_pretraining_sweep.csv")
    args = parser.parse_args()

    from g2p import atomic

    out = sweep(SWEEP, args.only or list(SWEEP), args.dataset, args.preset, args.seed, args.out,
                record=pretraining_columns)
    atomic.write_text(out.with_suffix(".md"), markdown(pd.read_csv(out)))


if __name__ == "__main__":
    main()
