"""The method comparison: every method's samples scored by the independent evaluators.

Methods (samples ``[N, k, 3, H, W]`` in [0, 1] for N test specimens):

* ``g2pdiffusion``: the full model (DNA + environment, classifier-free and alignment guidance).
* ``no_alignment``: the full model with ``alignment_scale = 0``.
* ``no_cfg`` / ``no_cfg_no_alignment``: plain conditional sampling (classifier-free guidance off,
  ``guidance_scale = 1``) with and without alignment guidance: with the two above, the 2×2 over the
  two guidances that the paper's ablation reports (:func:`guidance_2x2`).  Every method samples from
  the same seed, so the first samples of the four cells start from the same noise (paired).
* ``no_environment``: without the environment.  By default classifier-free guidance of the *same*
  network with the coordinates left out (condition dropout trained that "no environment" input); a
  separately trained model without any environment input (variant ``no_env``) is used instead when
  one is passed (paper preset).
* ``unconditional``: the same network with the null barcode and no environment (``guidance_scale = 0``).
* ``retrieval``: the training images of the k training barcodes nearest by k-mer profile cosine.
* ``random``: k random training images.
* ``truth``: the simulator's render of the specimen itself (a reference: what the evaluators give the
  ground truth, i.e. the ceiling of every metric).

The baselines and ablations are in :mod:`g2p.g2pdiff.baselines`, the paper's numbers in
:mod:`g2p.g2pdiff.published`.  Scores come from :mod:`g2p.g2pdiff.evaluators` (never from the
generator's own alignment model).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from g2p import atomic
from g2p.g2pdiff import baselines
from g2p.g2pdiff.datasets import LazyImages
from g2p.g2pdiff.evaluators import (Evaluators, bootstrap_interval, evaluate_samples, evaluator_images,
                                    specimen_scores)
from g2p.g2pdiff.pipeline import G2PDiffusionPipeline, SamplingSettings, generate_samples
from g2p.g2pdiff.published import published_metrics

OURS_LABEL = "ours (simulated BOLD specimens)"
METHODS = ("g2pdiffusion", "no_alignment", "no_cfg", "no_cfg_no_alignment", "no_environment", "unconditional",
           "retrieval", "random", "truth")
GENERATIVE = ("g2pdiffusion", "no_alignment", "no_cfg", "no_cfg_no_alignment", "no_environment", "unconditional")
#: The guidance 2×2: (classifier-free guidance, alignment guidance) → method.
GUIDANCE_CELLS: dict[tuple[str, str], str] = {
    ("on", "on"): "g2pdiffusion", ("on", "off"): "no_alignment",
    ("off", "on"): "no_cfg", ("off", "off"): "no_cfg_no_alignment",
}
# Columns of the comparison table: (our metric, level) → column stem.  ``success_rate`` is the
# paper's definition (DNA–image score ≥ τ); the classifier-hit variants are ours and labelled apart.
COLUMNS: dict[tuple[str, str], str] = {
    ("success_score", "specimen"): "success_rate",
    ("success_taxon", "genus"): "genus_hit",
    ("success_taxon", "species"): "species_hit",
    ("clibd_score", "specimen"): "clibd_score",
    ("pes", "specimen"): "pes",
}


def method_samplers(
    pipelines: dict[str, G2PDiffusionPipeline], train_records: pd.DataFrame,
    train_images: torch.Tensor | LazyImages, settings: SamplingSettings, simulator=None,
) -> dict[str, Callable[[pd.DataFrame], torch.Tensor]]:
    """One function per method: test records → samples ``[N, k, 3, H, W]``.

    ``pipelines["full"]`` is required; ``pipelines["no_env"]`` (a separately trained model) replaces
    the guidance-based ``no_environment`` when given (see :func:`ablation_sources`).  With a
    ``simulator`` the ``truth`` reference (the specimen's own render) is added.  ``train_images``
    (what the retrieval and random baselines show) can be a :class:`~g2p.g2pdiff.datasets.LazyImages`,
    so only the images they pick are rendered.
    """
    full, k = pipelines["full"], settings.num_images
    ka = settings.ablation_images or k
    cache: dict[int, torch.Tensor] = {}

    def full_samples(r: pd.DataFrame) -> torch.Tensor:
        if id(r) not in cache:
            cache.clear()
            cache[id(r)] = generate_samples(full, r, settings)
        return cache[id(r)]

    def no_alignment(r: pd.DataFrame) -> torch.Tensor:
        if settings.alignment_scale == 0:  # alignment is off anyway: the full model's own samples
            return full_samples(r)[:, :ka]
        return baselines.no_alignment_samples(full, r, settings, ka)

    samplers: dict[str, Callable[[pd.DataFrame], torch.Tensor]] = {
        "g2pdiffusion": full_samples,
        "no_alignment": no_alignment,
        "no_cfg": lambda r: baselines.no_cfg_samples(full, r, settings, ka),
        "no_cfg_no_alignment": lambda r: baselines.no_cfg_samples(full, r, settings, ka, alignment=False),
        "no_environment": lambda r: baselines.no_environment_samples(full, r, settings, ka),
        "unconditional": lambda r: baselines.unconditional_samples(full, r, settings, ka),
        "retrieval": lambda r: baselines.retrieval_samples(train_records, train_images, r, k),
        "random": lambda r: baselines.random_samples(train_images, len(r), k, settings.seed),
    }
    if "no_env" in pipelines:
        samplers["no_environment"] = lambda r: generate_samples(pipelines["no_env"], r, settings, num_images=ka)
    if simulator is not None:
        samplers["truth"] = lambda r: simulator.render(r, full.image_size, cache=False)[:, None]
    return {m: samplers[m] for m in METHODS if m in samplers}


def ablation_sources(pipelines: dict[str, G2PDiffusionPipeline]) -> dict[str, str]:
    """Where each ablation's samples come from, in words (for the chapter's prose)."""
    return {
        "no_alignment": "the full model with alignment guidance switched off (its own samples when the "
                        "preset's alignment strength is already 0)",
        "no_cfg": "the full model sampled without classifier-free guidance (guidance scale 1), alignment "
                  "guidance kept",
        "no_cfg_no_alignment": "the full model sampled without either guidance",
        "no_environment": ("a separately trained model without environment input" if "no_env" in pipelines
                           else "the full model guided without coordinates (condition dropout)"),
        "unconditional": "the full model with the null barcode and no environment (condition dropout)",
    }


def compare_methods(
    evaluators: Evaluators, samplers: dict[str, Callable[[pd.DataFrame], torch.Tensor]],
    test_sets: dict[str, pd.DataFrame], truth: dict[str, torch.Tensor], ks: tuple[int, ...] = (1, 5),
    output: Path | None = None, progress: bool = True, n_boot: int = 1000, seed: int = 0,
) -> tuple[pd.DataFrame, dict[tuple[str, str], torch.Tensor]]:
    """Score every method on every test split; long table
    ``method, split, metric, level, k, value, n, ci_low, ci_high`` (95 % bootstrap over specimens).

    Returns the table (also written to ``output`` as CSV when given) and the samples per (method, split).
    """
    frames, samples = [], {}
    jobs = [(m, s) for s in test_sets for m in samplers]
    for method, split in tqdm(jobs, disable=not progress, desc="methods"):
        recs = test_sets[split]
        if len(recs) == 0:
            continue
        x = samplers[method](recs)
        samples[(method, split)] = x
        table = evaluate_samples(evaluators, recs, x, truth[split], ks=ks, n_boot=n_boot, seed=seed)
        frames.append(table.assign(method=method, split=split))
    metrics = pd.concat(frames, ignore_index=True)[
        ["method", "split", "metric", "level", "k", "value", "n", "ci_low", "ci_high"]]
    if output is not None:
        atomic.write_text(Path(output), metrics.to_csv(index=False))
    return metrics, samples


def comparison_table(metrics: pd.DataFrame, ks: tuple[int, ...] = (1, 5), intervals: bool = False) -> pd.DataFrame:
    """Wide table: one row per (source, split, method); columns ``<name>@k`` — ours beside the paper's.

    ``success_rate`` is the paper's definition (score ≥ τ) for both sources; ``genus_hit`` and
    ``species_hit`` are our classifier-hit success rates (no paper counterpart); ``clibd_score`` and
    ``pes`` compare the specimen itself.  With ``intervals`` our cells read ``value [low, high]``.
    """
    ours = metrics[metrics["k"].isin(ks)].copy()
    ours["stem"] = [COLUMNS.get((m, lv)) for m, lv in zip(ours["metric"], ours["level"])]
    ours = ours[ours["stem"].notna()].assign(source=OURS_LABEL)
    paper = published_metrics()
    paper = paper[paper["k"].isin(ks)].assign(stem=paper["metric"])
    both = pd.concat([ours, paper], ignore_index=True)
    both["column"] = both["stem"] + "@" + both["k"].astype(str)
    if intervals:
        def cell(r) -> str:
            if "ci_low" in r and pd.notna(r.get("ci_low")):
                return f"{r['value']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
            return "" if pd.isna(r["value"]) else f"{r['value']:.3f}"
        both["cell"] = both.apply(cell, axis=1)
        wide = both.pivot_table(index=["source", "split", "method"], columns="column", values="cell",
                                aggfunc="first", sort=False)
    else:
        wide = both.pivot_table(index=["source", "split", "method"], columns="column", values="value", sort=False)
    order = [f"{stem}@{k}" for stem in dict.fromkeys(COLUMNS.values()) for k in ks]
    return wide.reindex(columns=[c for c in order if c in wide.columns]).reset_index()


def headline_metrics(metrics: pd.DataFrame) -> dict[str, float]:
    """Flat ``g2pdiff_<split>_<method>_<column>_k<k>`` numbers for glueing (columns as in
    :func:`comparison_table`), with ``_lo``/``_hi`` interval ends at k = 1."""
    out: dict[str, float] = {}
    for r in metrics.itertuples():
        stem = COLUMNS.get((r.metric, r.level))
        if stem is None:
            continue
        name = f"g2pdiff_{r.split}_{r.method}_{stem}_k{r.k}"
        out[name] = float(r.value)
        if r.k == 1 and hasattr(r, "ci_low"):
            out[f"{name}_lo"], out[f"{name}_hi"] = float(r.ci_low), float(r.ci_high)
    return out


def genus_checks(metrics: pd.DataFrame, split: str) -> dict[str, float]:
    """The chapter's headline comparison at top-1 on one split: genus classifier-hit success of the
    full model against the unconditional model (ratio, and whether the 95 % intervals are apart) and
    against nearest-barcode retrieval (ratio), plus species-level success of the full model."""
    def row(method: str, level: str = "genus") -> pd.Series:
        sel = metrics[(metrics["method"] == method) & (metrics["split"] == split) & (metrics["k"] == 1)
                      & (metrics["metric"] == "success_taxon") & (metrics["level"] == level)]
        if len(sel) != 1:
            raise ValueError(f"no single top-1 {level} success row for {method!r} on {split!r}")
        return sel.iloc[0]

    full, uncond, retrieval = row("g2pdiffusion"), row("unconditional"), row("retrieval")
    species = row("g2pdiffusion", "species")
    ratio = (lambda a, b: float(a / b) if b > 0 else float("inf"))
    return {
        "full": float(full["value"]), "unconditional": float(uncond["value"]), "retrieval": float(retrieval["value"]),
        "ratio_unconditional": ratio(full["value"], uncond["value"]),
        "intervals_apart": float(full["ci_low"] > uncond["ci_high"]),
        "ratio_retrieval": ratio(full["value"], retrieval["value"]),
        "species_full": float(species["value"]),
    }


#: The 2×2's measures: column stem → (metric, level) of :func:`g2p.g2pdiff.evaluators.specimen_scores`.
GUIDANCE_MEASURES: dict[str, tuple[str, str]] = {
    "species_hit": ("success_taxon", "species"), "genus_hit": ("success_taxon", "genus"),
    "clibd_score": ("clibd_score", "specimen"), "success_rate": ("success_score", "specimen"),
}


def guidance_2x2(
    evaluators: Evaluators, samples: dict[tuple[str, str], torch.Tensor], test_sets: dict[str, pd.DataFrame],
    truth: dict[str, torch.Tensor], n_boot: int = 1000, seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The paper's guidance ablation as a 2×2 (classifier-free guidance off/on × alignment guidance
    off/on, :data:`GUIDANCE_CELLS`) on each test split, at top-1 (each method's first sample; the four
    start from the same noise).

    Returns ``cells``: ``split, cfg, alignment, measure, value, n, ci_low, ci_high`` (95 % bootstrap over
    specimens), and ``effects``: alignment guidance's effect, on − off, at each classifier-free guidance
    setting, ``split, cfg, measure, effect, n, ci_low, ci_high, beyond`` (a paired bootstrap over the
    same specimens; ``beyond``: the interval excludes 0).
    """
    def measures(per: pd.DataFrame) -> dict[str, tuple[str, str]]:  # success_rate needs a calibrated τ
        return {m: ml for m, ml in GUIDANCE_MEASURES.items() if (per["metric"] == ml[0]).any()}

    cell_rows, effect_rows = [], []
    for split, recs in test_sets.items():
        values: dict[tuple[str, str], pd.DataFrame] = {}
        for (cfg, align), method in GUIDANCE_CELLS.items():
            if (method, split) not in samples:
                raise ValueError(f"no samples of {method!r} on {split!r}: the 2×2 needs all four cells")
            per = specimen_scores(evaluators, recs, samples[(method, split)][:, :1], truth[split], ks=(1,))
            values[(cfg, align)] = per
            for measure, (metric, level) in measures(per).items():
                v = per[(per["metric"] == metric) & (per["level"] == level)]["value"].to_numpy(dtype=float)
                known = v[~np.isnan(v)]
                low, high = bootstrap_interval(known, n_boot, seed)
                cell_rows.append((split, cfg, align, measure, float(known.mean()) if len(known) else float("nan"),
                                  len(known), low, high))
        for cfg in ("on", "off"):
            for measure, (metric, level) in measures(values[(cfg, "on")]).items():
                on, off = (values[(cfg, a)] for a in ("on", "off"))
                pick = (lambda t: t[(t["metric"] == metric) & (t["level"] == level)]
                        .sort_values("specimen")["value"].to_numpy(dtype=float))
                diff = pick(on) - pick(off)
                diff = diff[~np.isnan(diff)]
                low, high = bootstrap_interval(diff, n_boot, seed)
                effect = float(diff.mean()) if len(diff) else float("nan")
                effect_rows.append((split, cfg, measure, effect, len(diff), low, high,
                                    bool(len(diff)) and not (low <= 0.0 <= high)))
    cells = pd.DataFrame(cell_rows, columns=["split", "cfg", "alignment", "measure", "value", "n", "ci_low", "ci_high"])
    effects = pd.DataFrame(effect_rows, columns=["split", "cfg", "measure", "effect", "n", "ci_low", "ci_high",
                                                 "beyond"])
    return cells, effects


def guidance_table(cells: pd.DataFrame) -> pd.DataFrame:
    """The 2×2 for reading: rows (split, classifier-free guidance), columns (measure, alignment guidance),
    cells ``value [low, high]``."""
    shown = cells.assign(cell=[f"{v:.3f} [{lo:.3f}, {hi:.3f}]" if pd.notna(v) else "–"
                               for v, lo, hi in zip(cells["value"], cells["ci_low"], cells["ci_high"])])
    wide = shown.pivot_table(index=["split", "cfg"], columns=["measure", "alignment"], values="cell",
                             aggfunc="first", sort=False)
    wide.index.names = ["split", "classifier-free guidance"]
    wide.columns.names = ["measure", "alignment guidance"]
    return wide


def alignment_verdict(effects: pd.DataFrame, measure: str = "species_hit") -> str:
    """One sentence on alignment guidance's effect at ``measure``, read from :func:`guidance_2x2`'s effects:
    for each classifier-free guidance setting (on first) and split, beyond its paired 95 % interval (either
    way) or within it; then whether that reproduces the paper's gain (beyond and positive on every split)
    under both settings, one of them (the paper's sampling does not mention classifier-free guidance), or
    neither (a negative result)."""
    sel = effects[effects["measure"] == measure]
    if sel.empty or not (sel["cfg"] == "on").any():
        raise ValueError(f"no alignment effect on {measure!r} with classifier-free guidance on")
    label = MEASURE_LABELS.get(measure, measure)
    clauses, reproduced = [], {}
    for cfg in ("on", "off"):
        rows = sel[sel["cfg"] == cfg]
        if rows.empty:
            continue
        parts = []
        for r in rows.itertuples():
            where = f"{r.split.removeprefix('test_')} species (n = {r.n})"
            if r.beyond:
                parts.append(f"on {where} alignment guidance {'raises' if r.effect > 0 else 'lowers'} {label} "
                             "beyond its paired interval")
            else:
                parts.append(f"on {where} its effect on {label} is within its paired interval")
        setting = "with classifier-free guidance" if cfg == "on" else "with plain conditional sampling"
        clauses.append(f"{setting}, " + " and ".join(parts))
        reproduced[cfg] = bool((rows["beyond"] & (rows["effect"] > 0)).all())
    if all(reproduced.values()):
        summary = "the paper's gain from alignment guidance is reproduced here"
    elif any(reproduced.values()):
        which = "with" if reproduced.get("on") else "without"
        summary = (f"the paper's gain is reproduced {which} classifier-free guidance only; the paper's sampling "
                   "does not mention classifier-free guidance")
    else:
        summary = ("a negative result: alignment guidance does not raise it beyond chance variation on every split, "
                   "unlike in the paper's ablation")
    return "; ".join(clauses) + f" ({summary})"


MEASURE_LABELS = {"species_hit": "species success", "genus_hit": "genus success", "clibd_score": "the CLIBD-like score",
                  "success_rate": "the paper-style success rate"}


def truth_first(metrics: pd.DataFrame, split: str, metric: str = "success_score", level: str = "specimen",
                k: int = 1) -> dict[str, object]:
    """Whether the ground-truth renders score at least as high as every generative method at top-``k``
    (a scorer that ranks a generated sample above the truth cannot judge the generator): ``truth``,
    ``best`` (the highest-scoring generative method), ``best_value`` and ``truth_first``."""
    sel = metrics[(metrics["split"] == split) & (metrics["metric"] == metric) & (metrics["level"] == level)
                  & (metrics["k"] == k)].set_index("method")["value"]
    if "truth" not in sel.index:
        raise ValueError(f"no truth row for {metric!r} on {split!r}")
    generated = sel.reindex([m for m in GENERATIVE if m in sel.index]).dropna()
    if generated.empty:
        raise ValueError(f"no generative method scored for {metric!r} on {split!r}")
    best = str(generated.idxmax())
    return {"truth": float(sel["truth"]), "best": best, "best_value": float(generated[best]),
            "truth_first": bool(sel["truth"] >= generated.max())}


def fit_evaluators(train_records: pd.DataFrame, reference_records: pd.DataFrame, source, render_size: int,
                   *, chunk: int = 2048, **fit_kwargs) -> Evaluators:
    """The chapter's evaluators: trained on the true images (``source.render``, renders or photos) of the
    training records plus the unseen species' reference specimens
    (:func:`g2p.g2pdiff.datasets.add_unseen_references`; none when there are none), rendered at
    ``render_size`` and held at the evaluators' own resolution (:func:`evaluator_images`), never all at
    full size (``chunk`` records at a time).  ``fit_kwargs`` go to :meth:`Evaluators.fit`."""
    size = fit_kwargs.get("image_size")
    records, images = train_records, evaluator_images(source, train_records, render_size, size, chunk=chunk)
    if len(reference_records):
        records = pd.concat([train_records, reference_records], ignore_index=True)
        images = torch.cat([images, evaluator_images(source, reference_records, render_size, size, chunk=chunk)])
    return Evaluators.fit(records, images, **fit_kwargs)
