"""Benchmark (not a test): G2PDiffusion training steps/s and sampled images/s on this machine.

    python benchmarks/bench_diffusion.py --preset quick --steps 20 --images 32 --threads 1

Uses the preset's ``diffusion`` configuration with random images (no rendering; TAESD encodes them
once before the clock starts; environment augmentation off, since it only changes which renders are
encoded), so it measures the conditioner + UNet + alignment training step, and sampling as notebook
06 does it (the preset's sampler, steps, classifier-free and alignment guidance, decode included).
Prints one JSON line.

Measured on the 2-core build machine, 1 thread, while other jobs ran (1-minute load average 2.7–2.9;
issue 8; both versions run back to back with the same virtualenv):

| version | train steps/s (batch 32) | train images/s | sampled images/s |
|---|---|---|---|
| before (commit d4f879d: cross-attention at 8×8 and 4×4, 83 DNA tokens; DDIM 20 steps, CFG 2, alignment 1.0) | 2.63 | 84.1 | 5.75 |
| after (cross-attention at 4×4 + global path, 42 DNA tokens, fused AdamW; DPM-Solver++ 10 steps, CFG 2, no alignment) | 5.14 | 164.3 | 16.7 |
| after, sampling with 20 steps (`--inference-steps 20`) | 5.15 | 164.8 | 10.6 |

(Before, on an idle machine: 2.95 steps/s and 9.0 images/s.)  Sampling time is about half TAESD
decoding at 64 px; channels-last convolutions cut that by a third.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps (after 2 warm-up)")
    parser.add_argument("--images", type=int, default=32, help="images to sample")
    parser.add_argument("--inference-steps", type=int, default=None, help="default: notebook 06's preset value")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()

    from dataclasses import replace

    from g2p import config as g2p_config
    from g2p.device import describe, try_gpu
    from g2p.g2pdiff.latents import LatentStandardizer
    from g2p.g2pdiff.pipeline import build_pipeline
    from g2p.g2pdiff.train import (
        load_vae,
        make_alignment,
        make_conditioner,
        make_sampler,
        make_unet,
        train,
    )

    if args.threads:
        torch.set_num_threads(args.threads)
    preset = g2p_config.resolve(args.preset)
    config = replace(preset.diffusion(), env_augment=0, env_resample=0.0)
    if args.threads:  # training sets the preset's cpu_threads itself: the flag must win there too
        config = replace(config, cpu_threads=args.threads)
    sampling = preset.parameters("06_generate_phenotypes")
    inference_steps = args.inference_steps or int(sampling["num_inference_steps"])
    device = try_gpu()
    rng = np.random.default_rng(0)
    n = max(64, config.batch_size)
    records = pd.DataFrame({
        "processid": [f"B{i}" for i in range(n)],
        "barcode": ["".join(rng.choice(list("ACGT"), 658)) for _ in range(n)],
        "lat": rng.uniform(-60, 60, n), "lon": rng.uniform(-180, 180, n),
    })
    images = torch.rand(n, 3, config.image_size, config.image_size, generator=torch.Generator().manual_seed(0))

    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        warm = replace(config, steps=2, checkpoint_every=10**9)
        train(records, warm, Path(tmp) / "warm", images=images, progress=False, cache_dir=Path(tmp))
        timed = replace(config, steps=args.steps, checkpoint_every=10**9)
        result = train(records, timed, Path(tmp) / "timed", images=images, progress=False, cache_dir=Path(tmp))
    train_steps_per_s = args.steps / result.train_seconds

    torch.manual_seed(0)
    latent_norm = LatentStandardizer.fit(torch.randn(8, 4, config.image_size // 8, config.image_size // 8))
    pipe = build_pipeline(make_conditioner(config), make_unet(config), load_vae(), make_alignment(config),
                          scheduler=make_sampler(config), latent_norm=latent_norm).to(device)
    batch = records.head(args.images)
    tic = time.perf_counter()
    pipe(batch["barcode"].tolist(), batch["lat"].tolist(), batch["lon"].tolist(),
         num_inference_steps=inference_steps, guidance_scale=float(sampling["guidance_scale"]),
         alignment_scale=float(sampling["alignment_scale"]), generator=torch.Generator(device).manual_seed(0))
    sample_s = time.perf_counter() - tic
    print(json.dumps({
        "preset": args.preset, "device": describe(device), "threads": torch.get_num_threads(),
        "image_size": config.image_size, "batch_size": config.batch_size,
        "train_steps_per_s": round(train_steps_per_s, 3),
        "train_images_per_s": round(train_steps_per_s * config.batch_size, 1),
        "sampler": config.sampler, "inference_steps": inference_steps,
        "guidance_scale": float(sampling["guidance_scale"]), "alignment_scale": float(sampling["alignment_scale"]),
        "sampled_images_per_s": round(args.images / sample_s, 3),
    }))


if __name__ == "__main__":
    main()
