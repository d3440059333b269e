"""Benchmark orchestration: GenePheno, its ablations and every baseline on the same TEST split, 3 seeds.

``run_benchmark(datasets, preset)`` for each curated dataset and each seed of ``seeds``

1. trains (or reuses — ``train.train`` returns a finished run at once) GenePheno *complete* and the
   ablations under ``runs/<preset>/genepheno/<dataset>/<variant>/seed<k>/`` (notebook 02 trains
   ``complete`` for the same seeds with the same preset settings, so those runs are shared), and scores
   the test split;
2. fits every baseline of :mod:`g2p.genepheno.baselines` on the train split (early stopping on val,
   with GenePheno's epoch budget and patience), reading the sequences GenePheno reads
   (:class:`BaselineInputs`: a user's DNA FASTA too), and scores the test split; the trained ones (k-mer + LR,
   DeepPheno-like) once per seed, the deterministic ones (label frequency, DIAMOND) once; test scores
   are cached under ``.../<dataset>/baselines/<name>[-seed<k>].npz`` keyed by the data and settings;
3. evaluates each (method, seed) with :func:`g2p.genepheno.metrics.evaluate` — All + frequency bins;
   gene-bootstrap 95% intervals for the first seed (``n_boot`` replicates), point values for the
   others; the scores as given, plus ``fmax/auc/aupr_propagated``, the same scores max-propagated over
   the phenotype ontology as CAFA evaluates them (:mod:`g2p.genepheno.hierarchy`) — and measures
   exclusive-pair violations at each method's Fmax threshold;
4. writes ``runs/<preset>/genepheno/results.csv`` (one row per dataset × method × seed × bin) and
   ``runs/<preset>/genepheno/exclusive_violations.csv``, atomically; rows of datasets not in this call
   are kept. :func:`summarise` turns it into mean ± sd over seeds;
5. for a dataset with prospective targets (split ``prospective``: genes annotated only after the
   dataset's release, :class:`g2p.data.specs.ProspectiveTargets`), the same models score those genes
   too, evaluated the same way into ``runs/<preset>/genepheno/prospective.csv`` (CAFA's no-knowledge
   targets: nothing was trained or selected on them).

Metrics are computed on the TEST split (and the prospective targets) only; validation is used only for
early stopping.
``python -m g2p evaluate --datasets mpo hpo --preset quick`` runs the same thing.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from g2p import artifacts, atomic, paths
from g2p import config as g2p_config
from g2p.argtypes import non_negative_int, positive_int
from g2p.genepheno import baselines as baselines_mod
from g2p.genepheno import hierarchy, metrics, predict, runs, train
from g2p.genepheno import sequences as sequence_source
from g2p.genepheno.config import ENCODERS, BaselineConfig, TrainConfig
from g2p.genepheno.summary import METRICS, summarise  # noqa: F401  (re-exported: benchmark.summarise)
from g2p.data.split import PROSPECTIVE
from g2p.genepheno.train import dataset_fingerprint
from g2p.presets import PRESETS

NOTEBOOK = "03_evaluate"
RESULTS_FILE = "results.csv"
VIOLATIONS_FILE = "exclusive_violations.csv"
PROSPECTIVE_FILE = "prospective.csv"
KINDS = ("baseline", "ours", "ablation")


@dataclass(frozen=True)
class Variant:
    """A GenePheno training variant: its table label, kind, and the TrainConfig fields it changes."""

    key: str
    method: str
    kind: str
    overrides: dict[str, Any]
    paper_label: str | None = None  # the row of the paper's Table 1/2 it corresponds to


VARIANTS: dict[str, Variant] = {v.key: v for v in (
    Variant("complete", "GenePheno", "ours", {}, "complete"),
    Variant("paper_loss", "GenePheno with the paper's L_MLC summed over terms", "ablation",
            {"loss": "contrastive", "loss_reduction": "sum"}),
    Variant("anchored", "GenePheno with a zero-anchored L_MLC", "ablation", {"loss": "anchored"}),
    Variant("no_go", "GenePheno w/o GO input (sequence only)", "ablation", {"use_go": False}, "w/o GO input"),
    Variant("no_sequence", "GenePheno w/o sequence input (GO only)", "ablation", {"use_sequence": False},
            "w/o sequence input"),
    Variant("bce", "GenePheno w/o contrastive loss (BCE)", "ablation", {"loss": "bce"}, "w/o contrastive loss"),
    Variant("no_exclusive", "GenePheno w/o exclusive loss (λ1=0)", "ablation", {"lambda_ex": 0.0},
            "w/o exclusive loss"),
    Variant("no_concept", "GenePheno w/o concept loss (λ2=0)", "ablation", {"lambda_go": 0.0},
            "w/o bottleneck loss"),
    # not in the paper's Table 2 (its GoBERT is always pretrained): no published row beside it
    Variant("no_pretrain", "GenePheno w/o GO pretraining", "ablation", {"go_pretraining": None}),
    # its mirror for a preset whose complete model is not pretrained (quick: the sweep in
    # benchmarks/go_pretraining_sweep.md found no gain on validation): GoBERT-style, the default settings
    Variant("go_pretrained", "GenePheno with GO pretraining", "ablation", {"go_pretraining": {}}),
    # the gap decomposition: the same network with its phenotype head on the MLP (concepts a side task)
    Variant("direct_head", "GenePheno with a direct head (no concept bottleneck)", "ablation",
            {"concept_bottleneck": False}),
)}

# Baseline name → the paper's Table 1 row it stands in for (None: not in the paper).
BASELINE_PAPER_LABEL = {
    "naive": None,
    "max_blast": "max-BLAST", "max_kmer_nn": "max-BLAST",
    "weighted_blast": "w-BLAST", "weighted_kmer_nn": "w-BLAST",
    "kmer_lr": "kmer2vec+LR",
    "deeppheno_like": "DeepPheno",
}


def genepheno_dir(preset: str) -> Path:
    return paths.run_dir(preset, "genepheno")


def _base_name(dataset, fallback: str) -> str:
    sheet = getattr(dataset, "datasheet", None) or {}
    return str(sheet.get("dataset") or fallback)


# ------------------------------------------------------------------------------ one method
@dataclass
class MethodScores:
    """Test-split scores of one method plus what the results table needs to know about it."""

    name: str
    method: str
    kind: str
    scores: np.ndarray
    wall_s: float
    paper_label: str | None = None
    seed: int = 0
    prospective: np.ndarray | None = None  # scores of the prospective targets, when the dataset has them


def _splits(dataset) -> list[str]:
    """The splits a method scores: test, and the prospective targets when the dataset has them."""
    return ["test", PROSPECTIVE] if getattr(dataset, "has_prospective", False) else ["test"]


def score_rows(dataset, dataset_name: str, entry: MethodScores, n_boot: int, seed: int,
               split: str = "test") -> pd.DataFrame:
    """``metrics.evaluate`` on ``split`` (test, or the prospective targets), tagged with dataset, method,
    kind and wall time; with the ``*_propagated`` columns (the scores max-propagated over the dataset's
    phenotype ontology, as CAFA evaluates them) when the dataset has an ontology."""
    rows = dataset.split_index(split)
    y_true = dataset.labels[rows]
    scores = entry.scores if split == "test" else entry.prospective
    if scores is None or scores.shape != y_true.shape:
        raise ValueError(f"{entry.name}: {split} scores {getattr(scores, 'shape', None)} but labels {y_true.shape}")
    table = metrics.evaluate(y_true, scores, dataset.terms["bin"].to_numpy(), n_boot=n_boot, seed=seed,
                             descendants=hierarchy.dataset_descendants(dataset))
    table.insert(0, "dataset", dataset_name)
    table.insert(1, "name", entry.name)
    table.insert(2, "method", entry.method)
    table.insert(3, "kind", entry.kind)
    table.insert(4, "seed", entry.seed)
    table["paper_label"] = entry.paper_label
    table["wall_s"] = entry.wall_s
    table["n_boot"] = n_boot
    return table


def violation_row(dataset, dataset_name: str, entry: MethodScores, threshold: float) -> dict[str, Any]:
    pairs = np.asarray(dataset.exclusive_index()).reshape(-1, 2)
    test = dataset.split_index("test")
    truth = dataset.labels[test].toarray()
    return {
        "dataset": dataset_name, "name": entry.name, "method": entry.method, "kind": entry.kind,
        "seed": entry.seed, "threshold": threshold, "n_genes": len(test), "n_pairs": len(pairs),
        "violation_rate": metrics.exclusive_violation_rate(entry.scores, pairs, threshold),
        # How often both terms of a "exclusive" pair are annotated in the truth (a different genotype
        # of the same gene can show either): the floor a perfect predictor would reach.
        "label_rate": metrics.exclusive_violation_rate(truth, pairs, 0.5),
    }


def train_variant(dataset, dataset_name: str, preset: str, variant: Variant, config: TrainConfig,
                  seed: int = 0) -> MethodScores:
    """Train (or reuse) one GenePheno variant of ``config`` with one seed and score the test split;
    ``preset`` names the run folder."""
    config = variant_config(config, variant, seed)
    started = time.perf_counter()
    result = train.train(dataset, config, runs.variant_dir(preset, dataset_name, variant.key, seed), resume=True)
    if not result.finished:
        raise RuntimeError(f"training {dataset_name}/{variant.key}/seed{seed} did not finish")
    trained_s = float(result.extra.get("wall_time_s", result.wall_time_s)) or time.perf_counter() - started
    tick = time.perf_counter()
    scores = {split: np.asarray(predict.predict_scores(result.best_dir, dataset, split), dtype=np.float32)
              for split in _splits(dataset)}
    return MethodScores(variant.key, variant.method, variant.kind, scores["test"],
                        trained_s + time.perf_counter() - tick, variant.paper_label, seed, scores.get(PROSPECTIVE))


def variant_config(config: TrainConfig, variant: Variant, seed: int) -> TrainConfig:
    """The complete model's settings with the variant's changes and the seed."""
    return dataclasses.replace(config, **variant.overrides, seed=seed)


#: One method's output of a job: results rows (test), its exclusive-violation row, prospective rows or None.
JobOutput = tuple[pd.DataFrame, dict, "pd.DataFrame | None"]


@dataclass(frozen=True)
class ScoreJob:
    """One piece of the benchmark, whole: train (or reuse) a method with a seed, score the test split,
    evaluate. ``what`` is a key of :data:`VARIANTS`, the name of a trained baseline, or ``"fixed"``: the
    deterministic baselines together (max- and w-BLAST share one search)."""

    dataset: str  # curated dataset name
    what: str
    seed: int
    n_boot: int  # bootstrap replicates (0: point values only)
    bootstrap_seed: int
    preset: str
    config: TrainConfig
    baselines: BaselineConfig
    use_aligner: bool | None
    cache: Path  # the dataset's baseline score cache


def run_score_job(job: ScoreJob, loader: Callable[[str], Any] = runs.load_cached) -> list[JobOutput]:
    """The job's methods, each as (results rows, exclusive-violation row, prospective rows or None). A
    worker process's entry point: everything heavy (training, prediction, bootstrap) happens here, and
    only the small tables travel back."""
    dataset = loader(job.dataset)
    label = _base_name(dataset, job.dataset)
    if job.what in VARIANTS:
        entries = [train_variant(dataset, job.dataset, job.preset, VARIANTS[job.what], job.config, job.seed)]
    else:
        inputs = BaselineInputs.of(dataset, job.config, dataclasses.replace(job.baselines, seed=job.seed),
                                   job.use_aligner)
        chosen = [b for b in baselines_mod.all_baselines(inputs.config, inputs.use_aligner)
                  if (b.name not in baselines_mod.TRAINED if job.what == "fixed" else b.name == job.what)]
        if not chosen:
            raise ValueError(f"unknown benchmark method {job.what!r}")
        entries = [run_baseline(inputs.dataset, b, job.cache, None if job.what == "fixed" else job.seed,
                                sequences_digest=inputs.sequences_digest) for b in chosen]
    out = []
    for entry in entries:
        table = score_rows(dataset, label, entry, job.n_boot if entry.seed == job.bootstrap_seed else 0,
                           job.bootstrap_seed)
        table.insert(1, "curated", job.dataset)
        threshold = float(table.loc[table["bin"] == metrics.ALL, "threshold"].iloc[0])
        later = None
        if entry.prospective is not None:
            later = score_rows(dataset, label, entry, job.n_boot if entry.seed == job.bootstrap_seed else 0,
                               job.bootstrap_seed, split=PROSPECTIVE)
            later.insert(1, "curated", job.dataset)
        out.append((table, {"curated": job.dataset, **violation_row(dataset, label, entry, threshold)}, later))
    return out


def _run_score_job_quietly(job: ScoreJob) -> list[JobOutput]:
    """Worker side of :func:`_run_jobs`: one thread per process, no progress bars."""
    torch.set_num_threads(1)
    return run_score_job(dataclasses.replace(job, config=dataclasses.replace(job.config, progress=False, cpu_threads=1)))


def _run_jobs(jobs: list[ScoreJob], workers: int, loader: Callable[[str], Any] | None,
              say: Callable[[str], None]) -> list[list[JobOutput]]:
    """Every job's output, in the order of ``jobs``. With ``workers`` > 1 (and the standard loader) the
    jobs run in that many processes, GenePheno training first so the short baseline jobs fill the end;
    otherwise one after the other in this process."""
    def report(produced: list[JobOutput]) -> None:
        for table, _, _ in produced:
            row = table[table["bin"] == metrics.ALL].iloc[0]
            say(f"[{row['dataset']}] {row['method']}, seed {row['seed']}: Fmax {row['fmax']:.4f}, AUC {row['auc']:.4f}")

    if workers <= 1 or loader is not None or torch.cuda.is_available():
        outputs = []
        for job in jobs:  # in dataset order: runs.load_cached loads each dataset once
            outputs.append(run_score_job(job, loader or runs.load_cached))
            report(outputs[-1])
        return outputs
    order = sorted(range(len(jobs)), key=lambda i: (jobs[i].dataset != jobs[0].dataset, jobs[i].what not in VARIANTS))
    outputs: list = [None] * len(jobs)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_run_score_job_quietly, jobs[i]): i for i in order}
        try:
            for future in as_completed(futures):
                i = futures[future]
                outputs[i] = future.result()  # re-raises a worker's exception here
                report(outputs[i])
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)  # don't train the rest after a failure
            raise
    return outputs


@dataclass(frozen=True)
class BaselineInputs:
    """What the baselines read: the sequences GenePheno reads (a user's FASTA when ``sequences_fasta`` is
    set, e.g. DNA for a genomic language model, else the dataset's proteins), so that both sides of the
    comparison see the same input. With DNA the k-mers are ``dna_kmer_k`` long and homology transfer uses
    the k-mer nearest-neighbour search (DIAMOND aligns proteins only)."""

    dataset: Any
    config: BaselineConfig
    use_aligner: bool | None
    sequences_digest: str | None  # the FASTA's sha256 (part of the score cache's key), None for the proteins

    @classmethod
    def of(cls, dataset, model: TrainConfig, config: BaselineConfig, use_aligner: bool | None) -> BaselineInputs:
        if model.sequences_fasta is None:
            return cls(dataset, config, use_aligner, None)
        genes = dataset.genes.assign(sequence=sequence_source.dataset_sequences(dataset, model.sequences_fasta,
                                                                                model.alphabet))
        if model.alphabet == "dna":
            config, use_aligner = dataclasses.replace(config, kmer_k=config.dna_kmer_k), False
        return cls(dataclasses.replace(dataset, genes=genes), config, use_aligner,
                   sequence_source.fasta_digest(model.sequences_fasta))


def run_baseline(dataset, baseline, cache_dir: Path | None = None, seed: int | None = None,
                 sequences_digest: str | None = None) -> MethodScores:
    """Fit one baseline on train (val for early stopping) and score test; cached by data + settings (and
    ``sequences_digest``, the digest of the FASTA the dataset's sequences were replaced from, if any).
    ``seed`` names a trained baseline's seed (its config carries it); None for deterministic ones."""
    splits = _splits(dataset)
    identity = {"data": dataset_fingerprint(dataset), "name": baseline.name, "splits": splits,
                "config": asdict(baseline.config), "fit": baselines_mod.FIT_VERSION}
    if sequences_digest is not None:  # absent otherwise, so the caches of protein runs stay valid
        identity["sequences"] = sequences_digest
    key = artifacts.key_of(identity)
    stem = baseline.name if seed is None else f"{baseline.name}-seed{seed}"
    cache = cache_dir / f"{stem}.npz" if cache_dir is not None else None
    label = BASELINE_PAPER_LABEL.get(baseline.name)
    if cache is not None and cache.exists():
        stored = np.load(cache, allow_pickle=False)
        if str(stored["key"]) == key:
            return MethodScores(baseline.name, str(stored["method"]), "baseline", stored["scores"],
                                float(stored["wall_s"]), label, seed or 0,
                                stored["prospective"] if PROSPECTIVE in splits else None)
    started = time.perf_counter()
    fitted = baseline.fit(dataset)
    scores = {split: np.asarray(fitted.predict(dataset, split), dtype=np.float32) for split in splits}
    wall = time.perf_counter() - started
    if cache is not None:
        with atomic.open_for_write(cache) as tmp:
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, key=key, method=baseline.method, scores=scores["test"], wall_s=wall,
                                    prospective=scores.get(PROSPECTIVE, np.zeros((0, 0), np.float32)))
    return MethodScores(baseline.name, baseline.method, "baseline", scores["test"], wall, label, seed or 0,
                        scores.get(PROSPECTIVE))


# ------------------------------------------------------------------------------ the benchmark
def _merge_and_write(target: Path, new: pd.DataFrame, datasets: Sequence[str]) -> pd.DataFrame:
    """Replace this call's datasets in an existing CSV (others kept) and write it atomically."""
    if target.exists():
        old = pd.read_csv(target)
        if "dataset" in old.columns:
            new = pd.concat([old[~old["dataset"].isin(datasets)], new], ignore_index=True)
    atomic.write_text(target, new.to_csv(index=False))
    return new


def run_benchmark(
    dataset_name: str | Sequence[str],
    preset: str,
    *,
    config: TrainConfig,
    baselines: BaselineConfig,
    variants: Sequence[str],
    seeds: Sequence[int],
    ablation_seeds: Sequence[int] | None = None,
    n_boot: int = 100,
    workers: int = 1,
    use_aligner: bool | None = None,
    output_dir: Path | None = None,
    loader: Callable[[str], Any] | None = None,
    progress: Callable[[str], None] | None = print,
) -> pd.DataFrame:
    """Evaluate GenePheno (complete + ablations) and every baseline on the test split; see module doc.

    ``dataset_name``: one curated dataset name (``mpo``, ``hpo``, ``mpo-max400`` …) or several;
    ``preset`` names the run folders (``runs/<preset>/genepheno``). ``config`` is the complete model's
    settings (each variant changes a few fields of it); ``baselines`` the trained baselines' settings
    (give them GenePheno's ``epochs`` and ``patience`` for equal budgets, as
    :meth:`g2p.config.Preset.baselines` does). The complete model and the trained baselines run with
    every seed of ``seeds``; the ablations with ``ablation_seeds`` (a subset of ``seeds``; default all
    of them), which a CPU preset may shorten to save time. The work is split into :class:`ScoreJob` s
    (one per method and seed: train or reuse, predict, bootstrap); with ``workers`` > 1 and no custom
    ``loader`` they run in that many processes, the bootstrap included, and the table is the same as
    one process gives. Returns the results table of this call's datasets (one row per method, seed and
    bin), in job order.
    """
    names = [dataset_name] if isinstance(dataset_name, str) else list(dataset_name)
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    ablation_seeds = [int(s) for s in (ablation_seeds if ablation_seeds is not None else seeds)]
    if not set(ablation_seeds) <= set(seeds):
        raise ValueError(f"ablation_seeds {ablation_seeds} must be a subset of seeds {seeds}")
    chosen = list(variants)
    unknown = [v for v in chosen if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown GenePheno variant(s) {unknown}; choose from {list(VARIANTS)}")
    out = output_dir or genepheno_dir(preset)
    say = progress or (lambda message: None)
    jobs: list[ScoreJob] = []
    for name in names:
        for seed in seeds:
            whats = _variants_for(seed, chosen, ablation_seeds)
            whats += (["fixed"] if seed == seeds[0] else []) + list(baselines_mod.TRAINED)
            jobs += [ScoreJob(name, what, seed, n_boot, seeds[0], preset, config, baselines, use_aligner,
                              out / name / "baselines") for what in whats]
    say(f"{len(jobs)} benchmark jobs on {', '.join(names)} (seeds {seeds}, ablations on {ablation_seeds}), "
        f"{workers if workers > 1 and loader is None else 1} at a time")
    outputs = _run_jobs(jobs, workers, loader, say)
    result_tables = [table for produced in outputs for table, _, _ in produced]
    violations = [row for produced in outputs for _, row, _ in produced]
    later = [table for produced in outputs for _, _, table in produced if table is not None]
    results = pd.concat(result_tables, ignore_index=True)
    results["preset"] = preset
    done = list(results["dataset"].unique())
    _merge_and_write(out / RESULTS_FILE, results, done)
    _merge_and_write(out / VIOLATIONS_FILE, pd.DataFrame(violations), done)
    prospective = pd.concat(later, ignore_index=True).assign(preset=preset) if later else pd.DataFrame(columns=["dataset"])
    _merge_and_write(out / PROSPECTIVE_FILE, prospective, done)
    return results


def _variants_for(seed: int, chosen: Sequence[str], ablation_seeds: Sequence[int]) -> list[str]:
    """The variants trained with ``seed``: the complete model always, the ablations on ``ablation_seeds``."""
    return [key for key in chosen if key == "complete" or seed in ablation_seeds]


def load_prospective(preset: str, output_dir: Path | None = None) -> pd.DataFrame:
    """``prospective.csv`` of a preset (empty when no dataset of the run has prospective targets)."""
    target = (output_dir or genepheno_dir(preset)) / PROSPECTIVE_FILE
    if not target.exists() or target.stat().st_size == 0:
        return pd.DataFrame(columns=["dataset", "curated"])
    return pd.read_csv(target)


def propagation_shift(results: pd.DataFrame, metric: str = "fmax", name: str = "complete") -> float:
    """Mean change, in points (x100), of ``metric`` on the All-terms rows of ``name`` when its scores are
    max-propagated first (CAFA's convention) instead of scored as given; NaN where no row has the
    propagated column (a flat vocabulary has nothing to propagate)."""
    column = f"{metric}_propagated"
    if column not in results:
        return float("nan")
    rows = results[(results["name"] == name) & (results["bin"] == "All")].dropna(subset=[metric, column])
    return float(100 * (rows[column] - rows[metric]).mean()) if len(rows) else float("nan")


def load_results(preset: str, output_dir: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``results.csv`` and ``exclusive_violations.csv`` of a preset, as written by :func:`run_benchmark`."""
    out = output_dir or genepheno_dir(preset)
    missing = [f for f in (RESULTS_FILE, VIOLATIONS_FILE) if not (out / f).exists()]
    if missing:
        raise FileNotFoundError(f"{out}: no {', '.join(missing)}; run `python -m g2p evaluate --preset {preset}`")
    return pd.read_csv(out / RESULTS_FILE), pd.read_csv(out / VIOLATIONS_FILE)


# ------------------------------------------------------------------------------ CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--datasets", nargs="+", help="curated dataset names (default: the preset's 03_evaluate datasets)")
    parser.add_argument("--preset", default="quick", choices=PRESETS)
    parser.add_argument("--n-boot", type=positive_int, help="bootstrap replicates (default: from the preset)")
    parser.add_argument("--seeds", type=non_negative_int, nargs="+", help="training seeds (default: from the preset)")
    parser.add_argument("--ablation-seeds", type=non_negative_int, nargs="+",
                        help="the ablations' seeds, a subset of --seeds (default: from the preset)")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), help="GenePheno variants to include")
    parser.add_argument("--encoder", choices=ENCODERS, help="override the preset's GenePheno encoder")
    parser.add_argument("--no-aligner", action="store_true", help="use the k-mer fallback instead of DIAMOND")


def main(args: argparse.Namespace) -> int:
    preset = g2p_config.resolve(args.preset)
    block = preset.block(NOTEBOOK)
    model = preset.genepheno(encoder=args.encoder)
    results = run_benchmark(
        args.datasets or preset.curated_names(block.get("datasets") or []), args.preset,
        config=model, baselines=preset.baselines(model), variants=args.variants or preset.variants,
        seeds=args.seeds or block.get("seeds") or [0],
        ablation_seeds=args.ablation_seeds or block.get("ablation_seeds"),
        n_boot=args.n_boot or int(block.get("n_boot", 100)), workers=int(block.get("workers", 1)),
        use_aligner=False if args.no_aligner else None,
    )
    summary = summarise(results)
    shown = summary[summary["bin"] == metrics.ALL][["dataset", "method", "kind", "n_seeds", "fmax", "fmax_sd",
                                                    "auc", "auc_sd", "wall_s"]]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"wrote {genepheno_dir(args.preset) / RESULTS_FILE}")
    return 0
