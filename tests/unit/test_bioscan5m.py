"""Real BIOSCAN-5M data through bioscan-dataset (g2p.data.bioscan5m), on a fixture in the official layout.

The fixture is the release's 25 real BIOSCAN-5M sample records (barcodes, coordinates, orders, chunks)
written as the official metadata CSV, with a ``cropped_256`` photo per record made from the release's
real BIOSCAN-1M photo of its order. Its partitions and species labels are the fixture's own: the 25
records have only 4 species labels over 3 partitions, too few for seen and unseen species, so each
order becomes one species (Hemiptera the unseen one). bioscan-dataset checks the official download's
md5 sums, which a fixture cannot match, so the tests that load it switch that check off.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image, ImageOps

from g2p.config import resolve
from g2p.data import bioscan5m_root, sources
from g2p.data.bioscan5m import SPLIT_MAP, Bioscan5M, open_dataset
from g2p.data.bold import RECORD_COLUMNS
from g2p.errors import InputError
from g2p.g2pdiff import benchmark, datasets
from g2p.g2pdiff.config import DiffusionTrainConfig
from g2p.g2pdiff.pipeline import SamplingSettings, generate_samples
from g2p.g2pdiff.train import train_variants

bioscan_dataset = pytest.importorskip("bioscan_dataset")

TINY = dict(image_size=32, k=3, max_bp=60, token_pool=4, d_model=16, encoder_layers=1, encoder_heads=2,
            unet_channels=(16, 32), attention_head_dim=4, alignment_hidden=16, batch_size=8,
            warmup_steps=1, checkpoint_every=1000, cpu_threads=1, env_augment=1, env_resample=0.5)
UNSEEN = "Hemiptera"
#: Per order, in processid order: the seen orders' 3 train, 1 val, 1 test; Hemiptera's 2 key_unseen,
#: 1 val_unseen, 2 test_unseen.
SEEN_PARTS = ["train", "train", "train", "val", "test"]
UNSEEN_PARTS = ["key_unseen", "key_unseen", "val_unseen", "test_unseen", "test_unseen"]


def _photo(order: str) -> Image.Image:
    image = Image.open(sources.bioscan1m_image(order))
    image.draft("RGB", (384, 288))  # JPEG decoding at reduced scale: fast
    return ImageOps.fit(image.convert("RGB"), (341, 256))  # cropped_256: 256 px on the short side


def write_fixture(root) -> pd.DataFrame:
    """The official layout under ``root``; returns the metadata table written."""
    records = pd.DataFrame(json.loads(sources.resolve("bioscan5m_samples").read_text()))
    records = records.sort_values(["order", "processid"]).reset_index(drop=True)
    latlon = records["latlon"].str.split(",", expand=True).astype(float)
    parts = records.groupby("order").cumcount().map(dict(enumerate(SEEN_PARTS)))
    unseen = records["order"] == UNSEEN
    parts[unseen] = records[unseen].groupby("order").cumcount().map(dict(enumerate(UNSEEN_PARTS)))
    meta = pd.DataFrame({
        "processid": records["processid"], "chunk": records["chunk"].where(parts == "train"),
        "phylum": records["phylum"], "class": records["class"], "order": records["order"],
        "family": records["family"], "subfamily": records["subfamily"],
        "genus": "G" + records["order"], "species": "G" + records["order"] + " sp",
        "dna_bin": records["dna_bin"], "dna_barcode": records["dna_barcode"], "country": records["country"],
        "province_state": records["province_state"], "coord-lat": latlon[0], "coord-lon": latlon[1],
        "image_measurement_value": records["original_insect_pixels"],
        "area_fraction": records["cropped_area_fraction"], "scale_factor": records["cropped_scale_factor"],
        "split": parts,
    })
    csv = root / bioscan5m_root.METADATA
    csv.parent.mkdir(parents=True)
    meta.to_csv(csv, index=False)
    photos = {order: _photo(order) for order in meta["order"].unique()}
    for i, row in meta.iterrows():
        folder = root / bioscan5m_root.IMAGES / row["split"]
        if isinstance(row["chunk"], str):
            folder = folder / row["chunk"]
        folder.mkdir(parents=True, exist_ok=True)
        photo = photos[row["order"]]
        (ImageOps.mirror(photo) if i % 2 else photo).save(folder / f"{row['processid']}.jpg", quality=90)
    return meta


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("bioscan")
    return root, write_fixture(root)


@pytest.fixture()
def unchecked(monkeypatch):
    """bioscan-dataset without its md5 check of the official files."""
    monkeypatch.setattr(bioscan_dataset.BIOSCAN5M, "_check_integrity", lambda self, verbose=1: True)
    open_dataset.cache_clear()
    yield
    open_dataset.cache_clear()


def test_records_and_photos_through_the_package(fixture_root, unchecked):
    root, meta = fixture_root
    source = Bioscan5M(root)
    records = source.records()
    assert list(records.columns) == [*RECORD_COLUMNS, "split", "official_split", "image_path"]
    # the used partitions only (val_unseen is not), mapped to ours; key_unseen → the evaluators' reference
    assert records["official_split"].value_counts().to_dict() == {"train": 12, "val": 4, "test": 4,
                                                                  "key_unseen": 2, "test_unseen": 2}
    assert set(records["split"]) == set(SPLIT_MAP.values())
    assert set(records.loc[records["split"] == "test_unseen", "species"]) == {f"G{UNSEEN} sp"}
    assert f"G{UNSEEN} sp" not in set(records.loc[records["split"] == "train", "species"])
    row = records.set_index("processid").loc["GMMVA27218-22"]  # a Diptera training record, chunk a9
    assert row["image_path"] == "train/a9/GMMVA27218-22.jpg"
    assert row["lat"] == pytest.approx(20.032) and row["lon"] == pytest.approx(-97.106)
    original = meta.set_index("processid").loc["GMMVA27218-22", "dna_barcode"]
    assert row["barcode"] == original[:660].upper().replace("-", "")
    photos = source.render(records.head(3), 32)
    assert photos.shape == (3, 3, 32, 32) and photos.dtype == torch.float32
    assert 0.0 <= photos.min() and photos.max() <= 1.0 and photos.std() > 0.05  # a photo, not a blank
    # the stored photo itself, shorter side to 32 px and centre-cropped
    stored = Image.open(root / bioscan5m_root.IMAGES / records["image_path"].iloc[0])
    by_hand = torch.from_numpy(np.array(ImageOps.fit(stored, (32, 32)))).permute(2, 0, 1).float() / 255
    assert (photos[0] - by_hand).abs().mean() < 0.03


def test_split_records_caps_and_references(fixture_root, unchecked):
    root, _ = fixture_root
    config = DiffusionTrainConfig(**TINY, data="bioscan5m", bioscan5m_root=str(root))
    records = datasets.split_records(config, per_species=2, reference_per_species=1, seed=0)
    counts = records.groupby(["species", "split"]).size()
    assert counts.max() <= 2 and counts[(f"G{UNSEEN} sp", "reference")] == 1
    none = datasets.split_records(config, seed=0)
    assert "reference" not in set(none["split"]) and (none["split"] == "train").sum() == 12
    assert isinstance(datasets.image_source(config), datasets.Photos)


def test_missing_or_invalid_root_is_one_line(tmp_path, fixture_root, monkeypatch, capsys):
    monkeypatch.delenv(bioscan5m_root.ENV_VAR, raising=False)
    with pytest.raises(InputError) as info:
        Bioscan5M(tmp_path / "nowhere")
    message = str(info.value)
    assert "\n" not in message and str(tmp_path / "nowhere") in message and "download=True" in message
    with pytest.raises(InputError, match=bioscan5m_root.ENV_VAR):
        resolve("smoke").diffusion(data="bioscan5m")  # forced, no root anywhere
    # the fixture is not the official download: the package's md5 check refuses it, in one line
    root, _ = fixture_root
    open_dataset.cache_clear()
    with pytest.raises(InputError) as info:
        Bioscan5M(root).records()
    assert "\n" not in str(info.value) and "cannot load" in str(info.value)
    assert capsys.readouterr().out == ""  # what the package printed went into the error


def test_auto_falls_back_in_one_line_or_takes_the_root(tmp_path, fixture_root, monkeypatch, capsys):
    monkeypatch.setenv(bioscan5m_root.ENV_VAR, str(tmp_path / "absent"))
    bioscan5m_root._announced.clear()
    paper = resolve("paper")
    assert paper.diffusion().data == "simulator" and paper.diffusion().data == "simulator"
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "simulator" in lines[0] and bioscan5m_root.ENV_VAR in lines[0]
    assert str(tmp_path / "absent") in lines[0]
    root, _ = fixture_root
    monkeypatch.setenv(bioscan5m_root.ENV_VAR, str(root))
    config = paper.diffusion()
    assert (config.data, config.bioscan5m_root) == ("bioscan5m", str(root))
    assert resolve("quick").diffusion().data == "simulator" and resolve("smoke").diffusion().data == "simulator"
    simulator = paper.diffusion(data="simulator")
    assert config.fingerprint() != simulator.fingerprint()
    # where the download lies does not change the model
    assert config.fingerprint() == DiffusionTrainConfig.from_dict({**config.to_dict(),
                                                                   "bioscan5m_root": "/elsewhere"}).fingerprint()


def test_train_generate_and_evaluate_on_real_photos(fixture_root, unchecked, tmp_path):
    root, _ = fixture_root
    config = DiffusionTrainConfig(**TINY, steps=3, data="bioscan5m", bioscan5m_root=str(root))
    records = datasets.split_records(config, reference_per_species=2, seed=0)
    tic = time.perf_counter()
    result = train_variants(records, config, tmp_path / "run", progress=False)["full"]
    assert result.steps == 3 and result.pipeline_dir is not None
    done = json.loads((tmp_path / "run" / "full" / "done.json").read_text())
    assert done["n_train"] == 12 and done["n_train_renders"] == 12  # the photos, no augmented copies
    cached = list((tmp_path / "run" / "cache").glob("latents*.pt"))
    assert len(cached) == 1
    photos = datasets.image_source(config)
    train_records = records[records["split"] == "train"].reset_index(drop=True)
    from g2p.g2pdiff.train import load_vae
    from g2p.g2pdiff.latents import encode_images

    expected = encode_images(load_vae(), photos.render(train_records, 32))
    assert torch.allclose(torch.load(cached[0]), expected, atol=1e-4)  # latents of the real photos

    from g2p.g2pdiff.train import load_trained

    pipe = load_trained(tmp_path / "run", "full")
    test = records[records["split"] == "test_seen"].reset_index(drop=True)
    samples = generate_samples(pipe, test, SamplingSettings(num_images=1, num_inference_steps=2, seed=0))
    assert samples.shape == (len(test), 1, 3, 32, 32) and torch.isfinite(samples).all()
    references = records[records["split"] == "reference"].reset_index(drop=True)
    evaluators = benchmark.fit_evaluators(train_records, references, photos, 32, epochs=1, seed=0)
    assert evaluators.classify(photos.render(test, 32))[1].shape[0] == len(test)
    assert time.perf_counter() - tic < 60
    assert open_dataset.cache_info().misses == 1  # the package read the metadata once for all of it
    # pixel traits measured on the photos, as on the simulator's renders
    assert np.isfinite(photos.measure(photos.render(test, 32))["area_fraction"]).all()
