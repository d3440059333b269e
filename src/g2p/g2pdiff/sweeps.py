"""What the generator does when one input moves: a latitude sweep and a barcode mutation sweep.

The latitude sweep generates each chosen specimen's barcode at a range of latitudes, measures traits
from the generated pixels (``PhenotypeSimulator.measure``: body size as foreground area and length,
pigmentation as darkness) and compares them with the same measurements on the simulator's
ground-truth renders of that specimen at each latitude: the mean absolute error per trait, and the
rank (Spearman) correlation of the generated curve with the truth's, say whether the model learned
the simulator's environmental clines.  With the independent evaluators it also checks that the body
plan stays that of the barcode (the genus the classifier assigns to every generated image).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from g2p.g2pdiff.config import GUIDANCE_SCALE
from g2p.g2pdiff.pipeline import G2PDiffusionPipeline
from g2p.g2pdiff.simulator import sweep_latitude


@dataclass
class Sweep:
    table: pd.DataFrame  # long rows (one per record × setting × trait)
    truth: torch.Tensor | None  # [R, S, 3, H, W] ground-truth renders (latitude sweep) or None
    generated: torch.Tensor  # [R, S, 3, H, W] first sample per setting ([S, 3, H, W] for mutations)
    summary: pd.DataFrame | None = None  # per trait: MAE and rank correlations (latitude sweep)
    labels: list[str] | None = None  # one per record
    body_plan: dict[str, float] | None = None  # fraction of samples classified to the record's genus / order


def rank_correlation(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's ρ (average ranks for ties); NaN when either side is constant."""
    ra = pd.Series(a, dtype=float).rank().to_numpy()
    rb = pd.Series(b, dtype=float).rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def latitude_sweep(
    pipe: G2PDiffusionPipeline, simulator, records: pd.DataFrame | pd.Series, latitudes: Sequence[float], *,
    num_images: int = 2, num_inference_steps: int = 20, guidance_scale: float = GUIDANCE_SCALE,
    alignment_scale: float = 1.0, environment_guidance_scale: float | None = None, seed: int = 0,
    evaluators=None, genus_order: dict[str, str] | None = None,
) -> Sweep:
    """Generate each record's barcode at each latitude; traits (mean over samples) vs the truth.

    The same noise is used at every latitude of a record, so only the latitude differs along a row.
    ``summary``: per trait, ``mae`` (over records and latitudes), ``rank_corr`` (mean over records of
    Spearman's ρ between generated and true values along the sweep) and ``rank_corr_min``; with
    ``evaluators``, ``table`` also has ``same_genus`` (fraction of the samples classified to the
    record's genus) and ``body_plan["same_genus"]`` the fraction over all samples; with
    ``genus_order`` (genus → order of the training records) also ``same_order``; ``truth_same_*``
    are the same fractions for the simulator's renders along the sweep (the classifier's reference).
    ``autoencoder`` (table) and ``autoencoder_mae`` (summary) measure the truth renders sent through
    the pipeline's autoencoder and back: the error a perfect latent sample would still have, because
    the autoencoder blurs edges (a softer mask takes in lighter edge pixels, so darkness drops).
    """
    recs = records.to_frame().T if isinstance(records, pd.Series) else records
    recs = recs.reset_index(drop=True)
    lats = [float(v) for v in latitudes]
    s, k = len(lats), num_images
    rows, truths, firsts = [], [], []
    for r, record in recs.iterrows():
        swept = sweep_latitude(record, lats)
        truth = simulator.render(swept, pipe.image_size, cache=False)
        images = pipe(
            [record["barcode"]] * s, swept["lat"].tolist(), swept["lon"].tolist(),
            num_images_per_barcode=k, num_inference_steps=num_inference_steps,
            guidance_scale=guidance_scale, alignment_scale=alignment_scale,
            environment_guidance_scale=environment_guidance_scale,
            generator=[torch.Generator().manual_seed(seed + j) for _ in range(s) for j in range(k)],
        ).images
        gen = simulator.measure(images).assign(setting=np.repeat(np.arange(s), k)).groupby("setting").mean()
        true = simulator.measure(truth)
        autoencoded = simulator.measure(pipe.autoencode(truth))
        same = {}
        if evaluators is not None:
            # the same check on the simulator's own renders along the sweep is the reference
            for prefix, pictures, per in (("", images, k), ("truth_", truth, 1)):
                genus_logits, _ = evaluators.classify(pictures)
                names = np.asarray(evaluators.config.genera)[genus_logits.argmax(dim=1).numpy()]
                same[f"{prefix}same_genus"] = (names == record["genus"]).reshape(s, per).mean(axis=1)
                if genus_order is not None:
                    orders = np.asarray([genus_order.get(g) for g in names], dtype=object)
                    same[f"{prefix}same_order"] = (orders == record["order"]).reshape(s, per).mean(axis=1)
        for i, lat in enumerate(lats):
            for trait in true.columns:
                row = {"record": r, "processid": record["processid"], "species": record.get("species"),
                       "lat": lat, "trait": trait, "truth": float(true[trait].iloc[i]),
                       "generated": float(gen[trait].iloc[i]), "autoencoder": float(autoencoded[trait].iloc[i])}
                for name, fraction in same.items():
                    row[name] = float(fraction[i])
                rows.append(row)
        truths.append(truth)
        firsts.append(images.reshape(s, k, *images.shape[1:])[:, 0])
    table = pd.DataFrame(rows)
    table["abs_error"] = (table["generated"] - table["truth"]).abs()
    autoencoder_error = (table["autoencoder"] - table["truth"]).abs()
    summary = []
    for trait, g in table.groupby("trait", sort=False):
        rhos = [rank_correlation(h["truth"], h["generated"]) for _, h in g.groupby("record")]
        defined = [rho for rho in rhos if not np.isnan(rho)]  # flat curves: rho undefined (nan), left out
        summary.append({"trait": trait, "mae": float(g["abs_error"].mean()),
                        "autoencoder_mae": float(autoencoder_error[g.index].mean()),
                        "rank_corr": float(np.mean(defined)) if defined else float("nan"),
                        "rank_corr_min": float(np.min(defined)) if defined else float("nan")})
    summary = pd.DataFrame(summary).set_index("trait")
    settings = table.drop_duplicates(["record", "lat"])
    body_plan = {name: float(settings[name].mean()) for name in
                 ("same_genus", "same_order", "truth_same_genus", "truth_same_order") if name in table.columns}
    labels = [str(r.get("species", r["processid"])) for _, r in recs.iterrows()]
    return Sweep(table, torch.stack(truths), torch.stack(firsts), summary, labels, body_plan)


def sweep_picks(records: pd.DataFrame, n: int) -> pd.DataFrame:
    """Up to ``n`` records taken round-robin over orders (the first of each order, then the second, …),
    so that the first ones shown cover every body plan and more records only tighten the averages."""
    rank = records.groupby("order", sort=True).cumcount()
    order = records["order"].rank(method="dense")
    return records.assign(_rank=rank, _order=order).sort_values(["_rank", "_order"], kind="stable") \
        .head(n).drop(columns=["_rank", "_order"]).reset_index(drop=True)


def mutate(barcode: str, n: int, seed: int = 0) -> str:
    """``barcode`` with ``n`` distinct positions changed to a different base (seeded)."""
    if n > len(barcode):
        raise ValueError(f"cannot mutate {n} positions of a {len(barcode)} bp barcode")
    rng = np.random.default_rng(seed)
    seq = list(barcode)
    for pos in rng.choice(len(seq), size=n, replace=False):
        seq[pos] = rng.choice([b for b in "ACGT" if b != seq[pos]])
    return "".join(seq)


def mutation_sweep(
    pipe: G2PDiffusionPipeline, record: pd.Series, n_mutations: Sequence[int] = (0, 5, 20, 80, 200), *,
    num_inference_steps: int = 20, guidance_scale: float = GUIDANCE_SCALE, alignment_scale: float = 1.0, seed: int = 0,
) -> Sweep:
    """Edit n bases of one barcode and regenerate with the same noise; distance to the unedited image."""
    barcodes = [mutate(record["barcode"], n, seed) for n in n_mutations]
    images = pipe(
        barcodes, [record["lat"]] * len(barcodes), [record["lon"]] * len(barcodes),
        num_inference_steps=num_inference_steps, guidance_scale=guidance_scale,
        alignment_scale=alignment_scale,
        generator=[torch.Generator().manual_seed(seed) for _ in barcodes],
    ).images
    distance = (images - images[0:1]).pow(2).mean(dim=(1, 2, 3)).sqrt()
    table = pd.DataFrame({"n_mutations": list(n_mutations), "rms_pixel_change": distance.numpy()})
    return Sweep(table, None, images)
