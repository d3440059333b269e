"""benchmarks/gpu_probe.py --tiny: every measurement runs (seconds on a CPU) and the paper preset's
estimate is steps × 1/(steps/s) per stage."""

from __future__ import annotations

import importlib.util
import math

import pytest

from g2p import config as g2p_config
from g2p import paths

pytestmark = pytest.mark.slow


def _probe():
    spec = importlib.util.spec_from_file_location("gpu_probe", paths.benchmarks / "gpu_probe.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_tiny_probe_measures_every_stage_and_estimates_the_paper_preset(capsys):
    probe = _probe()
    report = probe.main(["--tiny", "--steps", "1", "--sample-steps", "1", "--sample-images", "1"])
    assert '"estimated_hours_total"' in capsys.readouterr().out  # printed as JSON
    assert report["tiny"] and report["device"]
    for key in ("esm_proteins_per_s", "genepheno_steps_per_s", "diffusion_steps_per_s", "sample_s_per_image_step"):
        assert math.isfinite(report[key]) and report[key] > 0, key
    paper = g2p_config.resolve("paper")
    rates = {k: report[k] for k in ("esm_proteins_per_s", "genepheno_steps_per_s", "diffusion_batch",
                                    "diffusion_steps_per_s", "sample_s_per_image_step")}
    hours = {k: v / 3600 for k, v in probe.estimates(paper, rates).items()}
    assert hours.keys() == report["estimated_hours"].keys() and len(hours) == 5
    diffusion = paper.diffusion()
    stage = next(k for k in hours if k.startswith("05"))
    expected = 2 * diffusion.steps * diffusion.batch_size / report["diffusion_batch"] / report["diffusion_steps_per_s"]
    assert hours[stage] == pytest.approx(expected / 3600)  # 2 variants × 100k steps, per image at the preset's batch
    model = paper.genepheno()
    steps = sum(model.epochs * math.ceil(train / model.batch_size) for train, _, _ in probe.DATASETS.values())
    stage = next(k for k in hours if k.startswith("02 GenePheno"))
    assert hours[stage] == pytest.approx(3 * steps / report["genepheno_steps_per_s"] / 3600)  # 3 seeds
    assert report["estimated_hours_total"] == pytest.approx(sum(report["estimated_hours"].values()), abs=0.1)
