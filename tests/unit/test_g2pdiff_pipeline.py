"""Alignment loss, guidance, pipeline sampling / save-load / determinism / bad input, training resume."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from g2p.g2pdiff.alignment import NoisyLatentEncoder, guided_noise, info_nce
from g2p.g2pdiff.pipeline import G2PDiffusionPipeline, build_pipeline, load_pipeline, save_pipeline
from g2p.g2pdiff.train import (
    DiffusionTrainConfig,
    load_vae,
    make_alignment,
    make_conditioner,
    make_unet,
    train,
)

TINY = dict(image_size=32, k=3, max_bp=60, token_pool=4, d_model=16, encoder_layers=1, encoder_heads=2,
            unet_channels=(16, 32), attention_head_dim=4, alignment_hidden=16, batch_size=4,
            warmup_steps=1, checkpoint_every=2, cpu_threads=1)


def test_info_nce_by_hand():
    img = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    dna = torch.tensor([[3.0, 0.0], [1.0, 1.0]])
    tau = 0.5
    # cosines: S = [[1, 1/√2], [0, 1/√2]] / τ
    s = np.array([[1.0, 1 / math.sqrt(2)], [0.0, 1 / math.sqrt(2)]]) / tau
    rows = -np.mean([s[i, i] - np.log(np.exp(s[i]).sum()) for i in range(2)])
    cols = -np.mean([s[i, i] - np.log(np.exp(s[:, i]).sum()) for i in range(2)])
    assert info_nce(img, dna, tau).item() == pytest.approx(0.5 * (rows + cols), rel=1e-6)


def test_alignment_gradient_and_guidance_formula():
    torch.manual_seed(0)
    g = NoisyLatentEncoder(hidden=16, embed_dim=8)
    x = torch.randn(3, 4, 4, 4)
    t = torch.tensor([10, 500, 900])
    c = torch.randn(3, 8)
    grad = g.guidance_gradient(x, t, c)
    assert grad.shape == x.shape and grad.abs().sum() > 0
    # moving along the gradient raises the alignment score
    before = torch.nn.functional.cosine_similarity(g(x, t), c).sum()
    after = torch.nn.functional.cosine_similarity(g(x + 1e-2 * grad, t), c).sum()
    assert after > before
    eps = torch.zeros_like(x)
    assert torch.allclose(guided_noise(eps, grad, 0.36, 2.0), -2.0 * 0.8 * grad)
    assert torch.equal(guided_noise(eps, grad, 0.36, 0.0), eps)
    # the loss never trains the DNA side
    c.requires_grad_(True)
    g.loss(x, t, c).backward()
    assert c.grad is None


@pytest.fixture(scope="module")
def tiny_pipe() -> G2PDiffusionPipeline:
    torch.manual_seed(0)
    cfg = DiffusionTrainConfig(**TINY)
    return build_pipeline(make_conditioner(cfg), make_unet(cfg), load_vae(), make_alignment(cfg))


BARCODES = ["ACGT" * 15, "TTGACCA" * 8 + "N"]


def _sample(pipe, seed=0, **kw):
    kw = {"num_inference_steps": 3, "guidance_scale": 2.0, "alignment_scale": 1.0, **kw}
    return pipe(BARCODES, [45.0, math.nan], [10.0, math.nan], num_images_per_barcode=2,
                generator=torch.Generator().manual_seed(seed), **kw).images


def test_pipeline_shapes_and_output_types(tiny_pipe):
    images = _sample(tiny_pipe)
    assert images.shape == (4, 3, 32, 32)
    assert images.min() >= 0 and images.max() <= 1
    assert _sample(tiny_pipe, output_type="np").shape == (4, 32, 32, 3)
    pil = _sample(tiny_pipe, output_type="pil", guidance_scale=0.0, alignment_scale=0.0)
    assert len(pil) == 4 and pil[0].size == (32, 32)


def test_seeded_determinism(tiny_pipe):
    assert torch.equal(_sample(tiny_pipe, seed=3), _sample(tiny_pipe, seed=3))
    assert not torch.equal(_sample(tiny_pipe, seed=3), _sample(tiny_pipe, seed=4))


def test_save_load_round_trip(tiny_pipe, tmp_path):
    save_pipeline(tiny_pipe, tmp_path / "pipe")
    loaded = load_pipeline(tmp_path / "pipe")
    assert isinstance(loaded, G2PDiffusionPipeline) and loaded.alignment is not None
    assert torch.allclose(_sample(tiny_pipe, seed=1), _sample(loaded, seed=1), atol=1e-5)


@pytest.mark.parametrize("barcodes, lat, lon, match", [
    (["ACGT", "ACXT"], 0.0, 0.0, r"barcode 1: letters outside ACGTN: 'X'"),
    ([""], 0.0, 0.0, "barcode 0: empty"),
    (["ACGT"], 95.0, 0.0, "latitude 95"),
    (["ACGT"], 0.0, 200.0, "longitude 200"),
    (["ACGT", "ACGT"], [1.0], [1.0], "lat: got 1 values for 2 barcodes"),
])
def test_bad_inputs(tiny_pipe, barcodes, lat, lon, match):
    with pytest.raises(ValueError, match=match):
        tiny_pipe(barcodes, lat, lon, num_inference_steps=1)


def _records(n=8):
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "processid": [f"P{i}" for i in range(n)],
        "barcode": ["".join(rng.choice(list("ACGT"), 60)) for _ in range(n)],
        "lat": rng.uniform(-50, 50, n), "lon": rng.uniform(-100, 100, n),
        "split": ["train"] * (n - 1) + ["test_seen"],
    })


def test_training_resumes_exactly(tmp_path):
    records = _records()
    images = torch.rand(7, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    cfg = DiffusionTrainConfig(**TINY, steps=4)
    fresh = train(records, cfg, tmp_path / "fresh", images=images, progress=False)
    part = train(records, cfg, tmp_path / "resumed", images=images, progress=False, stop_after=2)
    assert part.pipeline_dir is None and len(part.history) == 2
    resumed = train(records, cfg, tmp_path / "resumed", images=images, progress=False)
    assert list(resumed.history["step"]) == [1, 2, 3, 4]
    np.testing.assert_allclose(resumed.history["loss"], fresh.history["loss"], rtol=1e-5)
    assert (resumed.history["align_loss"] > 0).all()
    assert (tmp_path / "resumed" / "history.csv").exists()
    assert not (tmp_path / "resumed" / "checkpoint").exists()  # finished: the pipeline is kept, not the resume state
    a = load_pipeline(fresh.pipeline_dir)
    b = load_pipeline(resumed.pipeline_dir)
    kw = dict(num_inference_steps=2, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(a(records.barcode[:2].tolist(), 0.0, 0.0, **kw).images,
                          b(records.barcode[:2].tolist(), 0.0, 0.0, num_inference_steps=2,
                            generator=torch.Generator().manual_seed(0)).images, atol=1e-5)
    # a finished run with the same config and data is reused, not retrained
    again = train(records, cfg, tmp_path / "fresh", images=images, progress=False)
    assert again.train_seconds == fresh.train_seconds


def test_config_rejects_unknown_fields():
    with pytest.raises(ValueError, match="unknown DiffusionTrainConfig fields: bogus"):
        DiffusionTrainConfig.from_dict({"bogus": 1})
    with pytest.raises(ValueError, match="multiple of 8"):
        DiffusionTrainConfig(image_size=30)


def test_generate_command(tiny_pipe, tmp_path, capsys):
    import argparse

    from g2p.g2pdiff import pipeline

    save_pipeline(tiny_pipe, tmp_path / "model")
    parser = argparse.ArgumentParser()
    pipeline.add_arguments(parser)
    args = parser.parse_args(["--model", str(tmp_path / "model"), "--barcode", "ACGTACGTAC", "--lat", "10",
                              "--lon", "20", "--out", str(tmp_path / "out"), "--num-images", "2", "--steps", "2"])
    assert pipeline.main(args) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["barcode000_sample00.png", "barcode000_sample01.png"]
    # a separate weight for the coordinates changes the images (same seed, same noise)
    from PIL import Image

    first = np.asarray(Image.open(tmp_path / "out" / "barcode000_sample00.png"))
    args.environment_guidance_scale, args.out = 8.0, tmp_path / "env"
    assert pipeline.main(args) == 0
    assert not np.array_equal(first, np.asarray(Image.open(tmp_path / "env" / "barcode000_sample00.png")))
    bad = parser.parse_args(["--model", str(tmp_path / "model"), "--barcode", "ACGU", "--out", str(tmp_path / "x")])
    from g2p.errors import UsageError

    with pytest.raises(UsageError, match="barcode 0: letters outside ACGTN: 'U'"):  # printed as one line by g2p.cli
        pipeline.main(bad)


def test_generate_in_batches_makes_the_images_of_one_batch(tiny_pipe, tmp_path, monkeypatch):
    """The images of a call do not depend on how many are sampled at once (one seeded noise tensor,
    sliced per batch): two barcodes × 3 images in batches of 2 (one barcode's images split across
    batches) equal the same call in one batch, up to float rounding (kernels for other batch sizes
    may sum in another order: a pixel level or two of 255)."""
    from io import BytesIO

    from PIL import Image
    import argparse

    from g2p.g2pdiff import pipeline

    save_pipeline(tiny_pipe, tmp_path / "model")
    parser = argparse.ArgumentParser()
    pipeline.add_arguments(parser)

    def run(out: str) -> dict[str, np.ndarray]:
        args = parser.parse_args(["--model", str(tmp_path / "model"), "--barcode", "ACGTACGTAC", "--barcode",
                                  "TTGACCATTGAC", "--lat", "10", "--lat", "-30", "--lon", "20", "--lon", "5",
                                  "--num-images", "3", "--steps", "2", "--alignment-scale", "1", "--out",
                                  str(tmp_path / out)])
        assert pipeline.main(args) == 0
        return {p.name: np.asarray(Image.open(BytesIO(p.read_bytes())), dtype=np.int16)
                for p in sorted((tmp_path / out).iterdir())}

    whole = run("whole")
    monkeypatch.setattr(pipeline, "images_per_batch", lambda pipe, total, device: 2)
    batched = run("batched")
    assert len(whole) == 6 and batched.keys() == whole.keys()
    for name, image in whole.items():
        assert np.abs(batched[name] - image).max() <= 3, name
    other_seed = np.abs(whole["barcode000_sample00.png"] - whole["barcode000_sample01.png"]).max()
    assert other_seed > 10, "two samples of one barcode should differ by more than rounding"


def test_a_batch_is_sized_to_the_free_memory(tiny_pipe, monkeypatch):
    from g2p.errors import G2PError
    from g2p.g2pdiff import pipeline

    per_image = pipeline.bytes_per_image(tiny_pipe)
    monkeypatch.setattr(pipeline, "free_memory", lambda device: int(per_image * 10 / pipeline.MEMORY_SHARE))
    assert pipeline.images_per_batch(tiny_pipe, 1000, torch.device("cpu")) == 10
    assert pipeline.images_per_batch(tiny_pipe, 3, torch.device("cpu")) == 3
    monkeypatch.setattr(pipeline, "free_memory", lambda device: 2**40)
    assert pipeline.images_per_batch(tiny_pipe, 1000, torch.device("cpu")) == pipeline.BATCH_IMAGES
    monkeypatch.setattr(pipeline, "free_memory", lambda device: per_image)  # 25 % of it holds no image
    with pytest.raises(G2PError, match="needs about"):
        pipeline.images_per_batch(tiny_pipe, 1, torch.device("cpu"))


def test_autoencode_is_close_to_its_input_and_the_sweep_reports_it(tiny_pipe):
    from g2p.g2pdiff.simulator import PhenotypeSimulator
    from g2p.g2pdiff.sweeps import latitude_sweep

    sim = PhenotypeSimulator(seed=0)
    record = pd.Series({"processid": "P1", "barcode": "ACGT" * 15, "lat": 10.0, "lon": 5.0, "order": "Coleoptera",
                        "family": "Carabidae", "genus": "Amara", "species": "Amara aenea"})
    truth = sim.render(record.to_frame().T, 32, cache=False)
    through = tiny_pipe.autoencode(truth)
    assert through.shape == truth.shape and 0 <= through.min() and through.max() <= 1
    assert (through - truth).abs().mean() < 0.1  # TAESD keeps a render close (0.05 at 32 px)
    sweep = latitude_sweep(tiny_pipe, sim, record, [0.0, 60.0], num_images=1, num_inference_steps=2,
                           alignment_scale=0.0)
    assert {"autoencoder", "truth", "generated"} <= set(sweep.table.columns)
    floor = (sweep.table["autoencoder"] - sweep.table["truth"]).abs().groupby(sweep.table["trait"]).mean()
    assert sweep.summary["autoencoder_mae"].to_dict() == pytest.approx(floor.to_dict())


def test_sweep_picks_go_round_robin_over_orders():
    from g2p.g2pdiff.sweeps import sweep_picks

    records = pd.DataFrame({"order": ["B", "B", "B", "A", "A", "C"], "processid": list("123456")})
    assert sweep_picks(records, 4)["processid"].tolist() == ["4", "1", "6", "5"]
    assert sweep_picks(records, 2)["order"].tolist() == ["A", "B"]
    assert len(sweep_picks(records, 99)) == 6


def test_alignment_guidance_changes_samples_and_raises_their_alignment_score(tiny_pipe):
    """Same noise, alignment strength w = 0, 5, 20: the samples change, and every sample's alignment score
    (the alignment model's cosine with its own barcode's embedding, read at t = 0) rises with w."""
    import torch.nn.functional as F

    lat, lon = [45.0, math.nan], [10.0, math.nan]
    pooled = tiny_pipe.conditioner.encode(BARCODES, lat, lon).pooled.repeat_interleave(2, dim=0)
    scores, latents = [], []
    for w in (0.0, 5.0, 20.0):
        x = _sample(tiny_pipe, alignment_scale=w, num_inference_steps=5, output_type="latent")
        with torch.no_grad():
            scores.append(F.cosine_similarity(tiny_pipe.alignment(x, torch.tensor(0)), pooled, dim=-1))
        latents.append(x)
    assert not torch.allclose(latents[0], latents[1]) and not torch.allclose(latents[1], latents[2])
    assert (scores[1] > scores[0]).all() and (scores[2] > scores[1]).all(), scores


def test_generate_samples_pairs_the_noise_of_the_first_sample(tiny_pipe):
    """Sample 0 of a record starts from the same noise whatever the number of samples: with the same
    guidance it is the same image (up to float rounding), which pairs the methods' top-1 samples."""
    from g2p.g2pdiff.pipeline import SamplingSettings, generate_samples

    records = pd.DataFrame({"barcode": BARCODES, "lat": [45.0, 10.0], "lon": [10.0, 0.0]})
    settings = SamplingSettings(num_images=3, num_inference_steps=2, alignment_scale=0.0, seed=4)
    three = generate_samples(tiny_pipe, records, settings)
    one = generate_samples(tiny_pipe, records, settings, num_images=1)
    assert three.shape[:2] == (2, 3) and one.shape[:2] == (2, 1)
    assert torch.allclose(three[:, 0], one[:, 0], atol=1e-4)
    assert not torch.allclose(three[:, 0], three[:, 1], atol=1e-3)


def test_info_nce_leaves_excluded_pairs_out_of_the_negatives():
    img = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]])
    dna = torch.tensor([[1.0, 0.0], [1.0, 0.05], [0.0, 1.0]])
    exclude = torch.tensor([[True, True, False], [True, True, False], [False, False, True]])
    full = info_nce(img, dna, 0.1)
    masked = info_nce(img, dna, 0.1, exclude)
    # rows 0 and 1 are near-duplicates: as negatives they dominate the loss; excluded, it is small
    assert masked < 0.1 * full
    # the same exclusion from the DNA embeddings' cosine (rows 0 and 1: cos ≈ 0.999)
    torch.manual_seed(0)
    g = NoisyLatentEncoder(hidden=16, embed_dim=2)
    x, t = torch.randn(3, 4, 4, 4), torch.tensor([10, 500, 900])
    by_hand = info_nce(g(x, t), dna, g.config.temperature, exclude)
    assert torch.allclose(g.loss(x, t, dna, negative_cos=0.99), by_hand)
    assert not torch.allclose(g.loss(x, t, dna), by_hand)
