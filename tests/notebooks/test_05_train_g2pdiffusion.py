"""Notebook 05 through the smoke preset: one conditional model trained, its loss falls, curves written."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from g2p import config as g2p_config
from g2p import paths
from g2p.g2pdiff import train
from g2p.runner import read_glued

SMOKE = g2p_config.resolve("smoke")  # the preset the smoke run used, read once

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def values(smoke_run):
    return read_glued(smoke_run / "05_train_g2pdiffusion.ipynb")


def test_glued_training_numbers(values):
    config = SMOKE.diffusion()
    assert values["g2pdiff_steps"] == config.steps
    assert values["g2pdiff_n_train"] > 1
    # env_resample moves renders, it does not add any
    assert values["g2pdiff_n_train_renders"] == values["g2pdiff_n_train"] * (1 + config.env_augment)
    for name in ("g2pdiff_first_loss", "g2pdiff_final_loss", "g2pdiff_final_align_loss"):
        assert math.isfinite(values[name]) and values[name] > 0, name
    # the regression target (v or ε) has unit variance: an untrained model starts near 1
    assert 0.3 < values["g2pdiff_first_loss"] < 3.0
    # a smoke run whose loss falls
    assert values["g2pdiff_final_loss"] < 0.9 * values["g2pdiff_first_loss"]
    assert values["g2pdiff_train_seconds"] > 0
    assert values["g2pdiff_prediction_type"] == config.prediction_type
    assert 0 <= values["g2pdiff_lat_species_share"] <= 1


def test_one_conditional_model_with_its_curves_and_standardiser(values):
    run = paths.run_dir("smoke", "g2pdiffusion")
    config = SMOKE.diffusion()
    variants = SMOKE.parameters("05_train_g2pdiffusion")["variants"]
    assert train.trained_variants(run) == list(variants) == ["full"]
    history = pd.read_csv(run / "full" / "history.csv")
    assert list(history["step"]) == list(range(1, config.steps + 1))
    assert {"loss", "align_loss", "lr"} <= set(history.columns)
    pipe = train.load_trained(run, "full")
    assert pipe.conditioner.config.use_environment
    assert pipe.unet.config.class_embed_type == "projection"  # the global conditioning path
    assert pipe.latent_norm is not None and pipe.latent_norm.config["std"] != [1.0] * 4
    assert pipe.scheduler.config.prediction_type == config.prediction_type
    assert pipe.image_size == SMOKE.parameters("05_train_g2pdiffusion")["image_size"]
