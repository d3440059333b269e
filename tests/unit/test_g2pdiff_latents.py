"""Latent standardisation: statistics from training latents, exact round trip, clipping, save/load."""

from __future__ import annotations

import pytest
import torch

from g2p.g2pdiff.latents import LatentStandardizer


def _latents() -> torch.Tensor:
    # TAESD-like: per-channel offsets and spreads far from N(0, 1)
    g = torch.Generator().manual_seed(0)
    mean = torch.tensor([1.19, 0.94, -0.07, -0.48]).view(1, 4, 1, 1)
    std = torch.tensor([0.44, 0.8, 0.3, 0.6]).view(1, 4, 1, 1)
    return mean + std * torch.randn(200, 4, 8, 8, generator=g)


def test_fit_standardises_per_channel():
    z = _latents()
    norm = LatentStandardizer.fit(z)
    x = norm.standardize(z)
    assert torch.allclose(x.mean(dim=(0, 2, 3)), torch.zeros(4), atol=1e-5)
    assert torch.allclose(x.std(dim=(0, 2, 3)), torch.ones(4), atol=1e-4)
    assert norm.config["mean"] == pytest.approx([1.19, 0.94, -0.07, -0.48], abs=0.02)


def test_round_trip_is_exact():
    z = _latents()
    norm = LatentStandardizer.fit(z)
    assert torch.allclose(norm.unstandardize(norm.standardize(z)), z, atol=1e-6)
    x = torch.randn(3, 4, 8, 8)
    assert torch.allclose(norm.standardize(norm.unstandardize(x)), x, atol=1e-5)


def test_clip_range_spans_training_latents():
    z = _latents()
    norm = LatentStandardizer.fit(z)
    x = norm.standardize(z)
    assert torch.equal(norm.clip(x), x)  # training latents are inside their own range
    wild = torch.full((1, 4, 2, 2), 100.0)
    assert torch.allclose(norm.clip(wild)[0, :, 0, 0], x.amax(dim=(0, 2, 3)))
    assert torch.allclose(norm.clip(-wild)[0, :, 0, 0], x.amin(dim=(0, 2, 3)))


def test_identity_keeps_latents_but_clips_to_their_range():
    z = _latents()
    norm = LatentStandardizer.fit_identity(z)
    assert torch.equal(norm.standardize(z), z)
    assert torch.allclose(norm.clip(torch.full((1, 4, 1, 1), 100.0)).flatten(), z.amax(dim=(0, 2, 3)))


def test_save_load_round_trip(tmp_path):
    norm = LatentStandardizer.fit(_latents())
    norm.save_pretrained(tmp_path / "norm")
    loaded = LatentStandardizer.from_pretrained(tmp_path / "norm")
    x = torch.randn(2, 4, 8, 8)
    assert torch.allclose(loaded.unstandardize(x), norm.unstandardize(x))
    assert torch.allclose(loaded.clip(10 * x), norm.clip(10 * x))


def test_bad_statistics():
    with pytest.raises(ValueError, match="std must be positive"):
        LatentStandardizer(mean=[0.0], std=[0.0], low=[-1.0], high=[1.0])
    with pytest.raises(ValueError, match="one value per latent channel"):
        LatentStandardizer(mean=[0.0, 1.0], std=[1.0], low=[-1.0], high=[1.0])
    with pytest.raises(ValueError, match="training latents"):
        LatentStandardizer.fit(torch.zeros(1, 4, 2, 2))
