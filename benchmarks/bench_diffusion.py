"""Benchmark (not a test): G2PDiffusion training steps/s and sampled images/s on this machine.

    python benchmarks/bench_diffusion.py --preset quick --steps 20 --images 16 --threads 1

Uses the preset's ``diffusion`` configuration with random latents (no rendering, no TAESD encode),
so it measures the conditioner + UNet + alignment step and DDIM sampling with CFG and alignment
guidance (decode included). Prints one JSON line.
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
    parser.add_argument("--images", type=int, default=16, help="images to sample")
    parser.add_argument("--inference-steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()

    from g2p.device import describe, try_gpu
    from g2p.g2pdiff.pipeline import build_pipeline
    from g2p.g2pdiff.train import config_from_preset, load_vae, make_alignment, make_conditioner, make_unet, train

    if args.threads:
        torch.set_num_threads(args.threads)
    config = config_from_preset(args.preset)
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
    from dataclasses import replace
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        warm = replace(config, steps=2, checkpoint_every=10**9)
        train(records, warm, Path(tmp) / "warm", images=images, progress=False)
        timed = replace(config, steps=args.steps, checkpoint_every=10**9)
        result = train(records, timed, Path(tmp) / "timed", images=images, progress=False)
    train_steps_per_s = args.steps / result.train_seconds

    torch.manual_seed(0)
    pipe = build_pipeline(make_conditioner(config), make_unet(config), load_vae(), make_alignment(config)).to(device)
    batch = records.head(args.images)
    tic = time.perf_counter()
    pipe(batch["barcode"].tolist(), batch["lat"].tolist(), batch["lon"].tolist(),
         num_inference_steps=args.inference_steps, guidance_scale=2.0, alignment_scale=1.0,
         generator=torch.Generator(device).manual_seed(0))
    sample_s = time.perf_counter() - tic
    print(json.dumps({
        "preset": args.preset, "device": describe(device), "threads": torch.get_num_threads(),
        "image_size": config.image_size, "batch_size": config.batch_size,
        "train_steps_per_s": round(train_steps_per_s, 3),
        "train_images_per_s": round(train_steps_per_s * config.batch_size, 1),
        "inference_steps": args.inference_steps,
        "sampled_images_per_s": round(args.images / sample_s, 3),
    }))


if __name__ == "__main__":
    main()
