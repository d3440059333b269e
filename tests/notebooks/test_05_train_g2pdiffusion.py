"""Notebook 05 through the smoke preset: both variants trained, curves written, losses finite."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from g2p import paths, presets
from g2p.g2pdiff import train
from g2p.runner import read_glued

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def values(smoke_run):
    return read_glued(smoke_run / "05_train_g2pdiffusion.ipynb")


def test_glued_training_numbers(values):
    config = train.config_from_preset("smoke")
    assert values["g2pdiff_steps"] == config.steps
    assert values["g2pdiff_n_train"] > 1
    for name in ("g2pdiff_first_loss", "g2pdiff_final_loss", "g2pdiff_final_align_loss"):
        assert math.isfinite(values[name]) and values[name] > 0, name
    # ε-prediction MSE of an untrained model starts near Var(ε) = 1
    assert 0.3 < values["g2pdiff_first_loss"] < 3.0
    assert values["g2pdiff_train_seconds"] > 0


def test_runs_hold_pipelines_and_per_step_curves(values):
    run = paths.run_dir("smoke", "g2pdiffusion")
    steps = train.config_from_preset("smoke").steps
    for variant in train.VARIANTS:
        history = pd.read_csv(run / variant / "history.csv")
        assert list(history["step"]) == list(range(1, steps + 1))
        assert {"loss", "align_loss", "lr"} <= set(history.columns)
        assert (run / variant / "pipeline" / "model_index.json").exists()
    full = train.load_trained(run, "full")
    no_env = train.load_trained(run, "no_env")
    assert full.conditioner.config.use_environment and not no_env.conditioner.config.use_environment
    assert full.image_size == presets.notebook_parameters("smoke", "05_train_g2pdiffusion")["image_size"]
