"""The validation sweep of chapter 06's evaluators (not a test; never reads a test split): how well the
species classifier, trained as notebook 06 trains it (training renders plus the unseen species' reference
specimens), recognises the ground-truth renders of the VALIDATION specimens (seen species), and how well
it fits the reference specimens it learned the unseen species from. An evaluator that cannot tell the
truth's species apart cannot measure a generator's species fidelity.

    .venv/bin/python benchmarks/sweep_evaluators.py [--preset quick] [--out benchmarks/evaluator_sweep.csv]

Rows (one per setting; ``changes`` go to ``Evaluators.fit`` over the preset's ``evaluator_epochs``) are
written to ``--out`` atomically with a Markdown table beside it (same name, ``.md``). The rule used to
choose: the highest validation species accuracy, within about 30 s of fitting on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

HERE = Path(__file__).resolve().parent

SWEEP: dict[str, dict[str, object]] = {
    "20 epochs, unweighted": {"epochs": 20, "balanced_species": False},
    "20 epochs, balanced": {"epochs": 20, "balanced_species": True},
    "20 epochs, balanced, 64 px": {"epochs": 20, "balanced_species": True, "image_size": 64},
    "40 epochs, unweighted": {"epochs": 40, "balanced_species": False},
    "40 epochs, balanced": {"epochs": 40, "balanced_species": True},
    "80 epochs, balanced": {"epochs": 80, "balanced_species": True},
    "160 epochs, balanced": {"epochs": 160, "balanced_species": True},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="+", choices=list(SWEEP))
    parser.add_argument("--out", type=Path, default=HERE / "evaluator_sweep.csv")
    args = parser.parse_args()

    from g2p import atomic
    from g2p import config as g2p_config
    from g2p.g2pdiff import benchmark, datasets
    from g2p.g2pdiff.simulator import PhenotypeSimulator

    torch.set_num_threads(args.threads)
    preset = g2p_config.resolve(args.preset)
    p = preset.parameters("06_generate_phenotypes")
    seed = preset.common["seed"]
    size = int(preset.parameters("05_train_g2pdiffusion")["image_size"])  # what notebook 05 trains at
    records = datasets.make_splits(datasets.load_barcode_records(
        max_species=p["max_species"], per_species=p["per_species"], seed=seed), seed=seed)
    pool = datasets.load_barcode_records(max_species=p["max_species"], per_species=None, seed=seed)
    records = datasets.add_unseen_references(records, pool, p.get("reference_per_species", 0) or 0, seed=seed)
    simulator = PhenotypeSimulator(seed=preset.diffusion().simulator_seed)
    part = {s: records[records["split"] == s].reset_index(drop=True) for s in ("train", "reference", "val")}
    assert not set(records.loc[records["split"].isin(["train", "reference", "val"]), "split"]) & {"test_seen",
                                                                                                    "test_unseen"}

    def species_accuracy(evaluators, recs: pd.DataFrame) -> float:
        _, species_logits = evaluators.classify(simulator.render(recs, size))
        predicted = np.asarray(evaluators.config.species)[species_logits.argmax(dim=1).numpy()]
        return float((predicted == recs["species"].to_numpy()).mean())

    rows = []
    for name in args.only or list(SWEEP):
        changes = dict(SWEEP[name])
        tic = time.perf_counter()
        evaluators = benchmark.fit_evaluators(part["train"], part["reference"], simulator, size,
                                              **{"epochs": p["evaluator_epochs"], **changes}, seed=seed,
                                              num_threads=args.threads)
        seconds = time.perf_counter() - tic
        row = {"setting": name, "changes": json.dumps(changes), "fit_s": seconds,
               **{f"{s}_species_acc": species_accuracy(evaluators, r) for s, r in part.items()}}
        rows.append(row)
        print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    frame = pd.DataFrame(rows).assign(preset=args.preset, n_val=len(part["val"]), n_reference=len(part["reference"]))
    atomic.write_text(args.out, frame.to_csv(index=False))
    lines = ["| setting | val species acc. (truth renders) | reference fit | train fit | fit (s) |", "|---|---|---|---|---|"]
    lines += [f"| {r.setting} | {r.val_species_acc:.3f} | {r.reference_species_acc:.3f} | {r.train_species_acc:.3f} | "
              f"{r.fit_s:.0f} |" for r in frame.itertuples()]
    atomic.write_text(args.out.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
