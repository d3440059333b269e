"""The paper preset end to end, cut to seconds: every notebook through the runner with ``paper-dry``
(params/paper-dry.yaml: the paper's architectures, encoders and data pipeline, counts and sizes cut), and
GenePheno's ``hf`` encoder on a randomly initialised ESM-2 that this test saves locally (the transformers
path end to end, nothing downloaded). ``python -m g2p run --preset paper`` on a GPU runs this code path.

Its numbers mean nothing (a random encoder, one epoch, two diffusion steps); what is checked is that every
stage got to the end at the paper's sizes. About 4 minutes on 2 CPU cores (per-notebook times are printed).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest

from g2p import config as g2p_config
from g2p import paths

pytestmark = pytest.mark.slow

PRESET = "paper-dry"
NOTEBOOKS = ("01_data_curation", "02_train_genepheno", "03_evaluate", "04_interpretability",
             "05_train_g2pdiffusion", "06_generate_phenotypes")
DRY = g2p_config.resolve(PRESET)
PAPER = g2p_config.resolve("paper")
WATCHDOG_S = 1200  # under pyproject's per-test timeout (1,500 s); the run takes ~4 min on 2 cores


@pytest.fixture(scope="module")
def esm_folder():
    """A random ESM-2 (the paper preset's family, tiny) saved under this session's output root; its
    embeddings' cache folder (under data/cache, keyed by the folder) is removed afterwards."""
    from g2p.genepheno import encoders, random_encoders

    folder = random_encoders.save_esm(paths.output_root / "models" / "random-esm2")
    yield folder
    if not os.environ.get("G2P_TEST_OUTPUT_ROOT"):
        shutil.rmtree(encoders.hf_cache_dir(str(folder)), ignore_errors=True)


@pytest.fixture(scope="module")
def dry_run(esm_folder):
    from g2p import runner

    start = time.perf_counter()
    # before pytest-timeout ends it (pyproject's timeout), say where the notebook stood: in a CI log
    # that is what tells a hang from a slow machine
    watchdog = threading.Timer(WATCHDOG_S, lambda: print(_where_it_stood(time.perf_counter() - start),
                                                         file=sys.stderr, flush=True))
    watchdog.daemon = True
    watchdog.start()
    try:
        result = runner.run(PRESET, parameters={"hf_model": str(esm_folder)})
    except runner.NotebookExecutionError as exc:
        pytest.fail(f"paper-dry run failed: {exc}", pytrace=False)
    finally:
        watchdog.cancel()
    times = ", ".join(f"{r.name[:2]} {r.seconds:.0f} s ({r.status})" for r in result.notebooks)
    print(f"\npaper-dry: {time.perf_counter() - start:.0f} s in all; {times}")
    return result


def _where_it_stood(seconds: float) -> str:
    """The cell running (or the last that ran) in the notebook being executed (papermill saves it
    after every cell, in the runner's scratch folder beside its target), with the tail of its output
    and of its kernel's log."""
    executed = sorted(paths.executed_dir(PRESET).rglob("*.ipynb"), key=lambda p: p.stat().st_mtime)
    if not executed:
        return f"paper-dry: {seconds:.0f} s and no notebook written yet"
    try:
        notebook = json.loads(executed[-1].read_text())
    except ValueError:  # caught mid-write
        return f"paper-dry: {seconds:.0f} s, in {executed[-1].name}"
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    running = [i for i, c in enumerate(code) if c.get("metadata", {}).get("papermill", {}).get("status") == "running"]
    ran = [i for i, c in enumerate(code) if c.get("execution_count")]
    at = (running or ran or [0])[-1]
    last = code[at] if code else {"source": "", "outputs": []}
    text = "".join("".join(o.get("text", "")) if isinstance(o.get("text"), list) else str(o.get("text", ""))
                   for o in last.get("outputs", []))
    log = executed[-1].parent / "kernel.log"
    log_tail = log.read_text(errors="replace")[-1500:] if log.is_file() else "(none)"
    return (f"paper-dry: {seconds:.0f} s, in {executed[-1].name}, code cell {at + 1}"
            f" ({'running' if running else 'the last that finished'}):\n"
            f"{''.join(last['source'])[:600]}\n--- its output (tail) ---\n{text[-1500:]}\n"
            f"--- kernel log (tail) ---\n{log_tail}")


def test_every_notebook_ran_to_the_end(dry_run):
    assert [r.name for r in dry_run.notebooks] == list(NOTEBOOKS)
    for name in NOTEBOOKS:
        assert (paths.executed_dir(PRESET) / f"{name}.ipynb").is_file(), name


def test_genepheno_read_the_local_esm_through_transformers(dry_run, esm_folder):
    """Notebook 02's runs have the paper's GenePheno (hf encoder, GO pretraining, the paper's widths),
    whose sequence features are the random ESM-2's mean-pooled embeddings, one cached file per protein."""
    from g2p.genepheno import encoders, runs

    model = DRY.genepheno(hf_model=str(esm_folder))
    assert (model.encoder, model.d_model, model.go_layers) == ("hf", PAPER.genepheno().d_model, PAPER.genepheno().go_layers)
    names = DRY.curated_names(DRY.parameters("02_train_genepheno")["datasets"])
    assert all(name.endswith("-max40") for name in names)
    for name in names:
        run = runs.complete_run_dir(PRESET, name, 0)
        spec = json.loads((run / "best" / "inputs.json").read_text())
        assert (spec["encoder"], spec["hf_model"]) == ("hf", str(esm_folder)), name
        width = np.load(run / "best" / "seq_projection.npz")["components"].shape[1]
        assert width == 32, name  # the random ESM-2's hidden size (the paper's: 1,280)
        result = json.loads((run / "result.json").read_text())
        assert result["go_pretraining"] is not None and result["epochs_run"] == 1, name
    cached = list(encoders.hf_cache_dir(str(esm_folder)).glob("*.npy"))
    assert len(cached) >= 40  # every protein of the curated subsets (some are shared between datasets)


def test_every_variant_and_baseline_was_evaluated(dry_run):
    from g2p.genepheno import benchmark

    results, _ = benchmark.load_results(PRESET)
    assert set(DRY.variants) == set(PAPER.variants) and len(DRY.variants) == 10
    per_dataset = results.groupby("dataset")["name"].agg(set)
    assert len(per_dataset) == 4
    for dataset, methods in per_dataset.items():
        assert set(DRY.variants) <= methods, (dataset, set(DRY.variants) - methods)
        assert len(methods - set(DRY.variants)) >= 3, dataset  # the baselines beside them


def test_both_diffusion_models_have_the_paper_architecture(dry_run):
    from g2p.g2pdiff import train

    run = paths.run_dir(PRESET, "g2pdiffusion")
    paper = PAPER.diffusion()
    assert train.trained_variants(run) == ["full", "no_env"]
    for variant in ("full", "no_env"):
        pipe = train.load_trained(run, variant)
        assert tuple(pipe.unet.config.block_out_channels) == tuple(paper.unet_channels), variant
        assert pipe.image_size == paper.image_size == 256
        assert pipe.conditioner.config.use_environment == (variant == "full")
        assert list(pd.read_csv(run / variant / "history.csv")["step"]) == list(range(1, DRY.diffusion().steps + 1))


def test_generation_was_scored_on_both_splits(dry_run):
    metrics = pd.read_csv(paths.run_dir(PRESET, "g2pdiffusion") / "metrics.csv")
    assert set(metrics["split"]) == {"test_seen", "test_unseen"}
    assert {"g2pdiffusion", "no_environment"} <= set(metrics["method"])
