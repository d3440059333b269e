"""The validation sweep of G2PDiffusion's two guidances (not a test; never reads a test split): the
classifier-free guidance scale s and the alignment guidance strength w of a trained pipeline, scored on
the VALIDATION specimens by evaluators trained as notebook 06 trains them (training renders plus the
unseen species' reference specimens; τ calibrated on validation).

    .venv/bin/python benchmarks/sweep_guidance.py [--preset quick] [--run-dir runs/quick/g2pdiffusion]
        [--cfg 1 2 3 4] [--alignment 0 3 10 30] [--out benchmarks/guidance_sweep.csv]

Every setting samples one image per validation specimen from the same noise (paired), with the preset's
sampler and steps. Columns: top-1 species and genus classifier hits, the paper-style success rate and the
CLIBD-like score (each with a 95 % bootstrap interval), and ``align_cos``: the generator's own alignment
score of the final sample (the alignment encoder's cosine with the barcode's embedding at t = 0), which
alignment guidance should raise. Rows are written to ``--out`` atomically, with a Markdown table beside
it (same name, ``.md``); rows of other ``--label``s already there are kept. The rule used to choose: the highest validation species hit; a setting replaces
the preset's only if it is ahead by more than the half-width of the preset's interval.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--run-dir", type=Path, default=None, help="default: runs/<preset>/g2pdiffusion")
    parser.add_argument("--cfg", type=float, nargs="+", default=[1.0, 2.0, 3.0, 4.0])
    parser.add_argument("--alignment", type=float, nargs="+", default=[0.0, 3.0, 10.0, 30.0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "guidance_sweep.csv")
    parser.add_argument("--evaluators", type=Path, default=None,
                        help="a folder to load the evaluators from, or to save them to when it does not exist")
    parser.add_argument("--label", default="", help="a name for the trained model, written in every row")
    args = parser.parse_args()

    from g2p import atomic, paths
    from g2p import config as g2p_config
    from g2p.g2pdiff import benchmark, datasets, train
    from g2p.g2pdiff.evaluators import Evaluators, evaluate_samples
    from g2p.g2pdiff.pipeline import SamplingSettings, generate_samples
    from g2p.g2pdiff.simulator import PhenotypeSimulator

    torch.set_num_threads(args.threads)
    preset = g2p_config.resolve(args.preset)
    p = preset.parameters("06_generate_phenotypes")
    seed = preset.common["seed"]
    run_dir = args.run_dir or paths.run_dir(args.preset, "g2pdiffusion")
    records = datasets.make_splits(datasets.load_barcode_records(
        max_species=p["max_species"], per_species=p["per_species"], seed=seed), seed=seed)
    pool = datasets.load_barcode_records(max_species=p["max_species"], per_species=None, seed=seed)
    records = datasets.add_unseen_references(records, pool, p.get("reference_per_species", 0) or 0, seed=seed)
    pipe = train.load_trained(run_dir, "full")
    simulator = PhenotypeSimulator(seed=train.load_config(run_dir / "full").simulator_seed)
    val = records[records["split"] == "val"].reset_index(drop=True)
    assert not set(val["split"]) & {"test_seen", "test_unseen"}
    truth = simulator.render(val, pipe.image_size)
    if args.evaluators is not None and args.evaluators.exists():
        evaluators = Evaluators.load(args.evaluators)
        tau = evaluators.config.score_threshold
    else:
        train_records = records[records["split"] == "train"].reset_index(drop=True)
        evaluators = benchmark.fit_evaluators(train_records,
                                              records[records["split"] == "reference"].reset_index(drop=True),
                                              simulator, pipe.image_size, epochs=p["evaluator_epochs"], seed=seed,
                                              num_threads=args.threads)
        tau = evaluators.calibrate(val, truth, p["false_positive_rate"])
        if args.evaluators is not None:
            evaluators.save(args.evaluators)
    pooled = pipe.conditioner.encode(val["barcode"].tolist(), val["lat"].tolist(), val["lon"].tolist()).pooled

    rows = []
    for s in args.cfg:
        for w in args.alignment:
            settings = SamplingSettings(num_images=1, num_inference_steps=p["num_inference_steps"], guidance_scale=s,
                                        alignment_scale=w, seed=seed, batch_size=64)
            tic = time.perf_counter()
            latents = torch.cat([pipe(val["barcode"].tolist()[i:i + 64], val["lat"].tolist()[i:i + 64],
                                      val["lon"].tolist()[i:i + 64], guidance_scale=s, alignment_scale=w,
                                      num_inference_steps=settings.num_inference_steps, output_type="latent",
                                      generator=torch.Generator().manual_seed(seed + i)).images
                                 for i in range(0, len(val), 64)])
            seconds = time.perf_counter() - tic
            with torch.no_grad():
                align = F.cosine_similarity(pipe.alignment(latents, torch.tensor(0)), pooled, dim=-1)
                images = pipe.decode(latents)
            table = evaluate_samples(evaluators, val, images[:, None], truth, ks=(1,), n_boot=1000, seed=seed)
            row = {"cfg": s, "alignment": w, "n": len(val), "align_cos": float(align.mean()), "seconds": seconds}
            for name, metric, level in (("species_hit", "success_taxon", "species"),
                                        ("genus_hit", "success_taxon", "genus"),
                                        ("success_rate", "success_score", "specimen"),
                                        ("clibd_score", "clibd_score", "specimen")):
                r = table[(table["metric"] == metric) & (table["level"] == level)].iloc[0]
                row.update({name: r["value"], f"{name}_lo": r["ci_low"], f"{name}_hi": r["ci_high"]})
            rows.append(row)
            print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
    frame = pd.DataFrame(rows).assign(model=args.label, preset=args.preset, tau=tau, split="val")
    if args.out.exists():  # rows of other models (or settings) stay; a rerun replaces its own
        old = pd.read_csv(args.out, keep_default_na=False)
        key = ["model", "cfg", "alignment"]
        mine = set(map(tuple, frame[key].astype(str).to_numpy()))
        old = old[[tuple(map(str, r)) not in mine for r in old[key].to_numpy()]]
        frame = pd.concat([old, frame], ignore_index=True)
    atomic.write_text(args.out, frame.to_csv(index=False))
    lines = ["| model | cfg s | alignment w | species hit | genus hit | success (score ≥ τ) | CLIBD-like | align cos |",
             "|---|---|---|---|---|---|---|---|"]
    for r in frame.itertuples():
        cell = (lambda m: f"{getattr(r, m):.3f} [{getattr(r, m + '_lo'):.3f}, {getattr(r, m + '_hi'):.3f}]")
        lines.append(f"| {r.model} | {r.cfg:g} | {r.alignment:g} | {cell('species_hit')} | {cell('genus_hit')} | "
                     f"{cell('success_rate')} | {cell('clibd_score')} | {r.align_cos:.3f} |")
    atomic.write_text(args.out.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
