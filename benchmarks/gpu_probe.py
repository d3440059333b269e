"""GPU probe (not a test): how fast the paper preset's models train on this device, and what the paper
preset's notebooks would take here.

    .venv/bin/python benchmarks/gpu_probe.py            # the paper preset's sizes, on CUDA if present
    .venv/bin/python benchmarks/gpu_probe.py --tiny     # tiny models: seconds on a CPU (the test suite's run)

It measures, with random weights and random inputs (no data needed, nothing downloaded; the frozen
TAESD autoencoder comes from the data mirror as in notebook 05):

* ``esm``: proteins/s through a random ESM-2 of the paper preset's size (``facebook/esm2_t33_650M_UR50D``:
  33 layers, 1,280 wide) at the curated proteins' median length (~500 residues), batch 8;
* ``genepheno``: GenePheno training steps/s (forward, loss, backward, AdamW) at the paper preset's widths
  and batch size, with MPO's numbers of terms and concepts;
* ``diffusion``: G2PDiffusion training steps/s (conditioner + UNet + alignment model, EMA) at the
  paper preset's image size and UNet, with ``--diffusion-batch`` images a step (default: the preset's);
* ``sampling``: seconds per sampled image and sampler step (classifier-free and alignment guidance on,
  decoding included), with ``--sample-steps`` sampler steps.

Then it prints the estimated wall time of the paper preset per stage: steps × 1 / (steps/s), with the
release's curated dataset sizes (``DATASETS``). The estimates are upper bounds where early stopping
ends training sooner (GenePheno, patience 8) and leave out what is not measured (curation, GO
pretraining, the baselines, the evaluators). A smaller ``--diffusion-batch`` than the preset's is scaled
linearly to the preset's batch (per image). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

#: The release's curated datasets (curation version 3): training genes, terms, GO concepts.
DATASETS = {"mpo": (6719, 4036, 415), "hpo": (3967, 4886, 409), "gwas": (1385, 226, 329), "cafa2": (2134, 2078, 385)}
GO_VOCABULARY = 15_000  # GO input terms seen twice among MPO's training genes, about
PROTEIN_LENGTH = 500  # the curated proteins' median length, about (469-529 residues)


def _timed(step, n: int, warmup: int = 1) -> float:
    """Steps per second of ``step()`` over ``n`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        step()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    tick = time.perf_counter()
    for _ in range(n):
        step()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return n / (time.perf_counter() - tick)


def probe_esm(size: str, device: torch.device, n: int) -> float:
    """Proteins/s through a random ESM-2 of ``size`` (batch 8, PROTEIN_LENGTH residues)."""
    from transformers import EsmModel

    from g2p.genepheno import random_encoders

    with tempfile.TemporaryDirectory() as tmp:
        folder = random_encoders.save_esm(Path(tmp) / "esm", size=size)
        model = EsmModel.from_pretrained(folder).to(device).eval()
    length = PROTEIN_LENGTH if size != "tiny" else 64
    ids = torch.randint(4, 24, (8, length + 2), device=device)
    mask = torch.ones_like(ids)
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        steps = _timed(lambda: model(input_ids=ids, attention_mask=mask), n)
    return 8 * steps


def probe_genepheno(config, device: torch.device, n: int, terms: int, concepts: int) -> float:
    """GenePheno training steps/s at ``config``'s sizes, ``terms`` phenotypes and ``concepts`` concepts."""
    from g2p.genepheno import losses
    from g2p.genepheno.inputs import EncodedGenes
    from g2p.genepheno.model import GenePhenoConfig, GenePhenoModel

    rng = np.random.default_rng(0)
    b = config.batch_size
    model = GenePhenoModel(GenePhenoConfig(
        n_terms=terms, n_concepts=concepts, seq_input="features", n_seq_features=config.seq_dim, seq_tokens=1,
        go_vocab_size=GO_VOCABULARY, max_go_tokens=config.max_go_tokens, go_bag=config.go_bag,
        fusion_norm=config.fusion_norm, d_model=config.d_model, n_heads=config.n_heads, go_layers=config.go_layers,
        mlp_hidden=config.mlp_hidden, mlp_layers=config.mlp_layers, dropout=config.dropout, loss=config.loss,
        loss_reduction=config.loss_reduction, lambda_ex=config.lambda_ex, lambda_go=config.lambda_go, tau=config.tau,
    )).to(device).train()
    go_ids = rng.integers(3, GO_VOCABULARY, size=(b, config.max_go_tokens))
    go_ids[:, 0] = 2  # [CLS]
    bag = sp.csr_matrix((rng.random((b, GO_VOCABULARY)) < 60 / GO_VOCABULARY).astype(np.float32))
    encoded = EncodedGenes(seq=rng.standard_normal((b, 1, config.seq_dim)).astype(np.float32), go_ids=go_ids,
                           seq_mask=np.ones((b, 1), dtype=bool), go_bag=bag if config.go_bag else None)
    inputs = encoded.batch(np.arange(b), device)
    labels = torch.as_tensor(rng.random((b, terms)) < 0.014, dtype=torch.float32, device=device)
    concept_labels = torch.as_tensor(rng.random((b, concepts)) < 0.05, dtype=torch.float32, device=device)
    pairs = torch.as_tensor(rng.integers(0, terms, size=(300, 2)), device=device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, fused=device.type in ("cuda", "cpu"))

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            out = model(**inputs)
        parts = losses.genepheno_loss(out.logits, labels, out.concept_logits, concept_labels, pairs, loss=config.loss,
                                      reduction=config.loss_reduction, tau=config.tau, lambda_ex=config.lambda_ex,
                                      lambda_go=config.lambda_go)
        optimizer.zero_grad(set_to_none=True)
        parts.total.backward()
        optimizer.step()

    return _timed(step, n)


def _records(n: int, image_size: int) -> tuple[pd.DataFrame, torch.Tensor]:
    rng = np.random.default_rng(0)
    records = pd.DataFrame({"processid": [f"B{i}" for i in range(n)],
                            "barcode": ["".join(rng.choice(list("ACGT"), 658)) for _ in range(n)],
                            "lat": rng.uniform(-60, 60, n), "lon": rng.uniform(-180, 180, n)})
    images = torch.rand(n, 3, image_size, image_size, generator=torch.Generator().manual_seed(0))
    return records, images


def probe_diffusion(config, n: int) -> float:
    """G2PDiffusion training steps/s (the project's training loop, environment augmentation off)."""
    from g2p.g2pdiff.train import train

    config = dataclasses.replace(config, env_augment=0, env_resample=0.0, checkpoint_every=10**9, warmup_steps=1)
    records, images = _records(max(2 * config.batch_size, 8), config.image_size)
    with tempfile.TemporaryDirectory() as tmp:
        train(records, dataclasses.replace(config, steps=1), Path(tmp) / "warm", images=images, progress=False,
              cache_dir=Path(tmp))
        result = train(records, dataclasses.replace(config, steps=n), Path(tmp) / "timed", images=images,
                       progress=False, cache_dir=Path(tmp))
    return n / result.train_seconds


def probe_sampling(config, sampling: dict, steps: int, images: int, device: torch.device) -> float:
    """Seconds per image and sampler step, sampling as notebook 06 does (guidance on, decoding included)."""
    from g2p.g2pdiff.latents import LatentStandardizer
    from g2p.g2pdiff.pipeline import build_pipeline
    from g2p.g2pdiff.train import load_vae, make_alignment, make_conditioner, make_sampler, make_unet

    torch.manual_seed(0)
    side = config.image_size // 8
    pipe = build_pipeline(make_conditioner(config), make_unet(config), load_vae(), make_alignment(config),
                          scheduler=make_sampler(config),
                          latent_norm=LatentStandardizer.fit(torch.randn(8, 4, side, side))).to(device)
    records, _ = _records(images, 8)
    tick = time.perf_counter()
    pipe(records["barcode"].tolist(), records["lat"].tolist(), records["lon"].tolist(), num_inference_steps=steps,
         guidance_scale=float(sampling["guidance_scale"]), alignment_scale=float(sampling["alignment_scale"]),
         generator=torch.Generator(device).manual_seed(0))
    return (time.perf_counter() - tick) / images / steps


def estimates(preset, rates: dict) -> dict[str, float]:
    """Estimated seconds of the paper preset's stages on this device (see the module docstring)."""
    model = preset.genepheno()
    common = preset.common
    seeds, ablation_seeds = len(common["seeds"]), len(common["ablation_seeds"])
    steps_per_run = {d: model.epochs * math.ceil(train / model.batch_size) for d, (train, _, _) in DATASETS.items()}
    genes = sum(train / 0.8 for train, _, _ in DATASETS.values())
    ablations = len([v for v in preset.variants if v != "complete"])
    diffusion = preset.diffusion()
    variants = len(preset.parameters("05_train_g2pdiffusion")["variants"])
    per_image_step = 1 / (rates["diffusion_batch"] * rates["diffusion_steps_per_s"])  # seconds per image in a step
    g06 = preset.parameters("06_generate_phenotypes")
    n_eval = g06["n_eval"] or 500
    images = 2 * n_eval * (g06["num_images"] + 5 * g06["ablation_images"]) \
        + g06["sweep_records"] * g06["sweep_points"] * g06["sweep_images"]
    return {
        "02 ESM-2 embeddings (every curated protein once)": genes / rates["esm_proteins_per_s"],
        "02 GenePheno training (4 datasets x seeds, every epoch)": seeds * sum(steps_per_run.values())
        / rates["genepheno_steps_per_s"],
        "03 GenePheno ablations (datasets x ablations x ablation seeds)": ablation_seeds * ablations
        * sum(steps_per_run.values()) / rates["genepheno_steps_per_s"],
        "05 G2PDiffusion training (variants x steps)": variants * diffusion.steps * diffusion.batch_size
        * per_image_step,
        "06 sampling (test specimens x methods x images, and the sweep)": images
        * g06["num_inference_steps"] * rates["sample_s_per_image_step"],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="paper", help="whose sizes and counts (default: paper)")
    parser.add_argument("--tiny", action="store_true", help="tiny models and counts: seconds on a CPU")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per measurement (after 1 warm-up)")
    parser.add_argument("--diffusion-batch", type=int, help="images per diffusion training step (default: the preset's)")
    parser.add_argument("--sample-steps", type=int, default=2, help="sampler steps when timing sampling")
    parser.add_argument("--sample-images", type=int, default=2)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    from g2p import config as g2p_config
    from g2p.device import describe, try_gpu

    device = try_gpu()
    preset = g2p_config.resolve(args.preset)
    model, diffusion = preset.genepheno(), preset.diffusion()
    terms, concepts = DATASETS["mpo"][1:]
    if args.tiny:
        model = dataclasses.replace(model, d_model=16, n_heads=2, go_layers=1, mlp_hidden=32, seq_dim=16,
                                    max_go_tokens=16, batch_size=8)
        diffusion = dataclasses.replace(diffusion, image_size=32, unet_channels=(16, 32), layers_per_block=1,
                                        d_model=16, encoder_layers=1, encoder_heads=2, attention_head_dim=4,
                                        cross_attention="low", alignment_hidden=16, token_pool=8)
        terms, concepts = 50, 10
    batch = args.diffusion_batch or (4 if args.tiny else diffusion.batch_size)
    rates = {"esm_proteins_per_s": probe_esm("tiny" if args.tiny else "650M", device, args.steps),
             "genepheno_steps_per_s": probe_genepheno(model, device, args.steps, terms, concepts),
             "diffusion_batch": batch,
             "diffusion_steps_per_s": probe_diffusion(dataclasses.replace(diffusion, batch_size=batch,
                                                                          cpu_threads=args.threads), args.steps),
             "sample_s_per_image_step": probe_sampling(diffusion, preset.parameters("06_generate_phenotypes"),
                                                       args.sample_steps, args.sample_images, device)}
    report = {"device": describe(device), "threads": torch.get_num_threads(), "preset": args.preset,
              "tiny": args.tiny, **{k: round(v, 4) for k, v in rates.items()},
              "estimated_hours": {k: round(v / 3600, 2) for k, v in estimates(preset, rates).items()}}
    report["estimated_hours_total"] = round(sum(report["estimated_hours"].values()), 1)
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
