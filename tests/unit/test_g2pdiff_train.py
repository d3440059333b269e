"""Training pieces: the global conditioning path, targets and loss weights, environment augmentation,
x0 clipping in the sampler, and a small real training run whose loss falls."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from g2p.g2pdiff.pipeline import load_pipeline
from g2p.g2pdiff.train import (
    DiffusionTrainConfig,
    diffusion_target,
    make_conditioner,
    make_noise_scheduler,
    make_unet,
    snr_weights,
    train,
    unet_output,
)
from g2p.g2pdiff.training_data import augment_environment

TINY = dict(image_size=32, k=3, max_bp=60, token_pool=4, d_model=16, encoder_layers=1, encoder_heads=2,
            unet_channels=(16, 32), attention_head_dim=4, alignment_hidden=16, batch_size=8,
            warmup_steps=1, checkpoint_every=1000, cpu_threads=1)


def _conditioning(cfg, barcodes, lat):
    torch.manual_seed(0)
    cond = make_conditioner(cfg)
    return cond, cond.encode(barcodes, lat, [0.0] * len(barcodes))


@pytest.mark.parametrize("cross_attention", ["all", "low", "none"])
def test_global_path_changes_the_output(cross_attention):
    cfg = DiffusionTrainConfig(**TINY, cross_attention=cross_attention)
    cond, c = _conditioning(cfg, ["ACGT" * 15, "TTGACCA" * 8], [10.0, 60.0])
    torch.manual_seed(1)
    unet = make_unet(cfg).eval()
    assert unet.config.class_embed_type == "projection"
    assert unet.config.projection_class_embeddings_input_dim == cond.global_dim == 32
    x = torch.randn(1, 4, 4, 4).expand(2, -1, -1, -1)
    t = torch.tensor([500, 500])
    same_tokens = type(c)(c.tokens[:1].expand(2, -1, -1), c.mask[:1].expand(2, -1), c.pooled, c.vector)
    with torch.no_grad():
        out = unet_output(unet, x, t, same_tokens)
    # identical latents, timesteps and cross-attention context: only the global vector differs
    assert not torch.allclose(out[0], out[1], atol=1e-4)
    if cross_attention == "none":
        # …and without cross-attention the tokens do not matter at all
        swapped = type(c)(c.tokens.flip(0), c.mask.flip(0), c.pooled, c.vector)
        with torch.no_grad():
            assert torch.allclose(unet_output(unet, x, t, swapped), out, atol=1e-6)


def test_without_global_path_the_vector_is_ignored():
    cfg = DiffusionTrainConfig(**TINY, global_conditioning=False)
    _, c = _conditioning(cfg, ["ACGT" * 15, "ACGT" * 15], [10.0, 10.0])
    unet = make_unet(cfg).eval()
    other = type(c)(c.tokens, c.mask, c.pooled, torch.randn_like(c.vector))
    x, t = torch.randn(2, 4, 4, 4), torch.tensor([10, 900])
    with torch.no_grad():
        assert torch.equal(unet_output(unet, x, t, c), unet_output(unet, x, t, other))


def test_targets_and_min_snr_weights_by_hand():
    sched = make_noise_scheduler(DiffusionTrainConfig(**TINY))
    x0, noise, t = torch.randn(3, 4, 2, 2), torch.randn(3, 4, 2, 2), torch.tensor([0, 400, 999])
    a = sched.alphas_cumprod[t].view(-1, 1, 1, 1)
    assert torch.equal(diffusion_target(sched, x0, noise, t, "epsilon"), noise)
    v = diffusion_target(sched, x0, noise, t, "v_prediction")
    assert torch.allclose(v, a.sqrt() * noise - (1 - a).sqrt() * x0, atol=1e-6)
    snr = (a / (1 - a)).flatten()
    assert torch.allclose(snr_weights(sched, t, 5.0, "epsilon"), snr.clamp(max=5) / snr)
    assert torch.allclose(snr_weights(sched, t, 5.0, "v_prediction"), snr.clamp(max=5) / (snr + 1))
    assert torch.equal(snr_weights(sched, t, None, "epsilon"), torch.ones(3))


def test_environment_augmentation_moves_only_the_coordinates():
    records = pd.DataFrame({"processid": ["A", "B", "C"], "barcode": ["ACGT"] * 3, "lat": [10.0, np.nan, 50.0],
                            "lon": [20.0, np.nan, -3.0], "has_coords": [True, False, True]})
    tables = augment_environment(records, copies=2, max_lat=70.0, seed=3)
    assert len(tables) == 3
    pd.testing.assert_frame_equal(tables[0], records)  # no resampling: the specimens as recorded
    for c in tables[1:]:
        assert list(c["processid"]) == ["A", "B", "C"] and c["has_coords"].all()
        assert c["lat"].abs().le(70).all() and c["lat"].notna().all()
        assert c.loc[0, "lon"] == 20.0 and c.loc[2, "lon"] == -3.0 and -180 <= c.loc[1, "lon"] <= 180
    assert not np.allclose(tables[1]["lat"], tables[2]["lat"])
    again = augment_environment(records, copies=2, max_lat=70.0, seed=3)
    pd.testing.assert_frame_equal(again[2], tables[2])
    assert np.isnan(records.loc[1, "lat"])  # input untouched


def test_resampling_moves_the_stated_fraction():
    n = 4000
    records = pd.DataFrame({"processid": [f"P{i}" for i in range(n)], "barcode": ["ACGT"] * n,
                            "lat": np.full(n, 45.0), "lon": np.full(n, 7.0), "has_coords": True})
    (moved,) = augment_environment(records, copies=0, max_lat=80.0, seed=0, resample=0.3)
    changed = moved["lat"] != 45.0
    assert changed.mean() == pytest.approx(0.3, abs=0.03)
    assert (moved["lon"] == 7.0).all() and moved["lat"].abs().le(80).all()


def _specimens(n_species: int = 4, per: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    orders = ["Coleoptera", "Lepidoptera", "Diptera", "Hymenoptera"]
    for s in range(n_species):
        seq = "".join(rng.choice(list("ACGT"), 60))
        for i in range(per):
            rows.append({"processid": f"S{s}-{i}", "order": orders[s % 4], "family": f"F{s}", "genus": f"G{s}",
                         "species": f"G{s} s{s}", "barcode": seq, "lat": float(rng.uniform(-60, 60)),
                         "lon": float(rng.uniform(-100, 100)), "has_coords": True, "split": "train"})
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_a_small_real_run_learns_and_samples_in_range(tmp_path):
    records = _specimens()
    cfg = DiffusionTrainConfig(**TINY, steps=120, lr=2e-3, env_augment=1, env_resample=0.5, ema_decay=0.9)
    result = train(records, cfg, tmp_path / "run", progress=False)
    loss = result.history["loss"]
    first, last = loss.head(20).mean(), loss.tail(20).mean()
    assert last < 0.8 * first, (first, last)
    assert (result.history["align_loss"] > 0).all()
    pipe = load_pipeline(result.pipeline_dir)
    norm = pipe.latent_norm
    assert norm is not None and norm.config["mean"] != [0.0] * 4
    latents = pipe(records["barcode"][:2].tolist(), [10.0, math.nan], [0.0, math.nan], num_inference_steps=4,
                   guidance_scale=3.0, alignment_scale=1.0, output_type="latent",
                   generator=torch.Generator().manual_seed(0)).images
    # the last DPM-Solver++ step returns the (clipped) x0 estimate: inside the training range
    assert (latents >= norm.clip_low - 1e-4).all() and (latents <= norm.clip_high + 1e-4).all()
    images = pipe.decode(latents)
    assert images.shape == (2, 3, 32, 32) and 0 <= images.min() and images.max() <= 1


def _variant_modules(cfg, variant, seed=0):
    """The conditioner and UNet ``train`` builds for ``variant`` (same seeding, same order)."""
    from g2p.g2pdiff.train import variant_config

    vcfg = variant_config(cfg, variant)
    torch.manual_seed(seed)
    return make_conditioner(vcfg).eval(), make_unet(vcfg).eval()


def test_full_and_no_env_differ_where_the_environment_differs():
    """One seed, the same barcodes and noisy latents at two environments: the full model's output moves
    with the coordinates, the no_env model's does not, and the two models' outputs differ. (Both start
    from the same seed, but the full conditioner's environment MLP draws from the generator before the
    UNet is built, and the UNet's global-path projection is twice as wide, so no weight is shared by
    accident.)"""
    cfg = DiffusionTrainConfig(**TINY)
    barcodes = ["ACGT" * 15, "TTGACCA" * 8]
    x = torch.randn(2, 4, 4, 4, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([300, 700])
    outs = {}
    for variant in ("full", "no_env"):
        cond, unet = _variant_modules(cfg, variant)
        with torch.no_grad():
            for name, lat in (("north", [60.0, 60.0]), ("equator", [0.0, 0.0])):
                outs[variant, name] = unet_output(unet, x, t, cond.encode(barcodes, lat, [10.0, 10.0]))
    assert not torch.allclose(outs["full", "north"], outs["full", "equator"], atol=1e-5)
    assert torch.equal(outs["no_env", "north"], outs["no_env", "equator"])  # it has no environment input
    assert not torch.allclose(outs["full", "north"], outs["no_env", "north"], atol=1e-4)


def test_full_and_no_env_training_losses_differ(tmp_path):
    """Three steps of each variant on the same seed, batches and noise: different losses and alignment
    losses from the first step, although the learning rate is still warming up (a paper-like warm-up of
    1,000 steps; a run this short barely moves the weights, so the losses differ because the models do)."""
    from g2p.g2pdiff.train import train_variants

    records = _specimens()
    assert records["lat"].nunique() > 1  # the environments differ between specimens
    cfg = DiffusionTrainConfig(**{**TINY, "warmup_steps": 1000}, steps=3, lr=1e-3)
    results = train_variants(records, cfg, tmp_path / "runs", variants=("full", "no_env"), progress=False)
    full, no_env = results["full"].history, results["no_env"].history
    assert list(full["step"]) == list(no_env["step"]) == [1, 2, 3]
    for column in ("loss", "align_loss"):
        assert (full[column] != no_env[column]).all(), column
