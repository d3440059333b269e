"""GenePheno throughput on this machine (not a test): training genes/s, scoring and evaluation time.

    .venv/bin/python benchmarks/bench_genepheno.py [--dataset mpo] [--preset quick] [--epochs 1]
        [--max-train 2000] [--n-boot 100]

Trains the preset's GenePheno configuration for ``--epochs`` epochs on (a subset of) the curated
dataset's training genes in a temporary folder, then times test-split scoring, ``metrics.evaluate``
(All + bins, ``--n-boot`` bootstrap replicates) and the label-frequency / DIAMOND baselines, and prints
one line per measurement. Nothing is written under ``runs/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np


def _subset(dataset, max_train: int | None, seed: int = 0):
    """A copy of ``dataset`` whose train split keeps at most ``max_train`` genes (val/test untouched)."""
    if max_train is None or len(dataset.split_index("train")) <= max_train:
        return dataset
    rng = np.random.default_rng(seed)
    train = dataset.split_index("train")
    drop = rng.choice(train, size=len(train) - max_train, replace=False)
    genes = dataset.genes.copy()
    genes.loc[genes.index[drop], "split"] = "unused"
    sub = dataclasses.replace(dataset, genes=genes)
    # CuratedDataset.split_index rejects unknown split names, which "unused" rows simply never match.
    return sub


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mpo")
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-train", type=int, default=2000)
    parser.add_argument("--n-boot", type=int, default=100)
    args = parser.parse_args()

    from g2p import config as g2p_config
    from g2p import device
    from g2p.data.curated import load
    from g2p.genepheno import baselines, metrics, predict, train

    dataset = _subset(load(args.dataset), args.max_train)
    test = dataset.split_index("test")
    print(f"device: {device.describe()}")
    print(f"dataset {args.dataset}: {len(dataset.split_index('train'))} train genes used, "
          f"{len(test)} test genes, {len(dataset.terms)} terms")

    config = g2p_config.resolve(args.preset).genepheno(epochs=args.epochs, patience=args.epochs + 1, progress=False)
    with tempfile.TemporaryDirectory(prefix="g2p-bench-") as tmp:
        started = time.perf_counter()
        result = train.train(dataset, config, Path(tmp) / "run", resume=False)
        train_wall = time.perf_counter() - started
        per_epoch = result.history["train_genes_per_s"] if "train_genes_per_s" in result.history else None
        genes_per_s = float(per_epoch.median()) if per_epoch is not None else len(dataset.split_index("train")) * args.epochs / train_wall
        print(f"training ({config.encoder} encoder, {args.epochs} epoch(s)): {genes_per_s:.1f} genes/s "
              f"(wall {train_wall:.1f} s incl. input encoding and validation)")

        tick = time.perf_counter()
        scores = predict.predict_scores(result.best_dir, dataset, "test")
        score_s = time.perf_counter() - tick
        print(f"scoring the test split: {score_s:.2f} s ({len(test) / score_s:.1f} genes/s)")

    y_test = dataset.labels[test]
    bins = dataset.terms["bin"].to_numpy()
    tick = time.perf_counter()
    metrics.fmax(y_test, scores)
    print(f"metrics.fmax (All terms): {time.perf_counter() - tick:.3f} s")
    tick = time.perf_counter()
    metrics.evaluate(y_test, scores, bins, n_boot=0)
    print(f"metrics.evaluate, no bootstrap: {time.perf_counter() - tick:.2f} s")
    tick = time.perf_counter()
    metrics.evaluate(y_test, scores, bins, n_boot=args.n_boot)
    print(f"metrics.evaluate, {args.n_boot} bootstrap replicates: {time.perf_counter() - tick:.2f} s")

    for model in (baselines.LabelFrequency(), baselines.SequenceSimilarity("weighted")):
        tick = time.perf_counter()
        model.fit(dataset).predict(dataset, "test")
        print(f"baseline {model.method}: fit + score {time.perf_counter() - tick:.2f} s")


if __name__ == "__main__":
    main()
