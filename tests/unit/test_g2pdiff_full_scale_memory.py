"""Notebook 06 at BIOSCAN-5M's full scale: no step holds all training images at full resolution.

289k training photos as float at 256 px are ~227 GB; the evaluators learn from them at 32 px
(:func:`evaluator_images`, a chunk at a time) and the retrieval / random baselines render only the
images they pick (:class:`LazyImages`).  A source that refuses large batches stands in for the photos.
"""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from g2p.g2pdiff import benchmark
from g2p.g2pdiff.datasets import LazyImages, load_barcode_records, make_splits
from g2p.g2pdiff.evaluators import Evaluators, evaluator_images
from g2p.g2pdiff.pipeline import SamplingSettings
from g2p.g2pdiff.simulator import PhenotypeSimulator

TINY = dict(epochs=2, seed=0, width=8, feature_dim=16, batch_size=16, num_threads=1)


class BoundedSource:
    """The simulator, refusing to render more than ``limit`` records in one call (and counting them)."""

    def __init__(self, limit: int) -> None:
        self.simulator, self.limit, self.rendered = PhenotypeSimulator(seed=0), limit, 0

    def render(self, records: pd.DataFrame, image_size: int, *, cache: bool | None = None) -> torch.Tensor:
        if len(records) > self.limit:
            raise MemoryError(f"asked to render {len(records)} records at once (limit {self.limit})")
        self.rendered += len(records)
        return self.simulator.render(records, image_size, cache=False)


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return make_splits(load_barcode_records(max_species=8, per_species=12, seed=1), seed=0)


def _split(records: pd.DataFrame, name: str) -> pd.DataFrame:
    return records[records["split"] == name].reset_index(drop=True)


def test_evaluator_images_equal_downsampling_the_whole_render(records):
    train = _split(records, "train")
    whole = PhenotypeSimulator(seed=0).render(train, 64, cache=False)
    chunked = evaluator_images(BoundedSource(limit=7), train, 64, chunk=7)
    assert chunked.shape == (len(train), 3, 32, 32) and chunked.dtype == torch.float32
    expected = torch.nn.functional.interpolate(whole, size=(32, 32), mode="bilinear", antialias=True,
                                               align_corners=False)
    assert torch.equal(chunked, expected)  # bit for bit: the evaluators learn what they learnt before
    # and so do the evaluators themselves
    small = Evaluators.fit(train, chunked, **TINY)
    large = Evaluators.fit(train, whole, **TINY)
    for a, b in zip(small.classifier.state_dict().values(), large.classifier.state_dict().values()):
        assert torch.equal(a, b)


def test_lazy_images_render_only_what_is_indexed(records):
    train = _split(records, "train")
    source = BoundedSource(limit=10)
    lazy = LazyImages(source, train, 48)
    whole = PhenotypeSimulator(seed=0).render(train, 48, cache=False)
    idx = torch.tensor([[3, 0, 3], [5, 5, 1]])
    got = lazy[idx]
    assert got.shape == (2, 3, 3, 48, 48) and torch.equal(got, whole[idx])
    assert source.rendered == 4 and len(lazy) == len(train)  # the distinct records 0, 1, 3, 5 only


def test_notebook_06_path_never_renders_the_training_set_at_once(records):
    """fit_evaluators, calibration and the retrieval / random baselines with a source that cannot
    render the training split in one call."""
    train, val, test = (_split(records, s) for s in ("train", "val", "test_seen"))
    limit = len(train) // 3
    source = BoundedSource(limit=limit)
    with pytest.raises(MemoryError):  # the bound is real: the whole training split is beyond it
        source.render(train, 32)
    references = train.iloc[:0]
    evaluators = benchmark.fit_evaluators(train, references, source, 64, chunk=limit, **TINY)
    tau = evaluators.calibrate(val, evaluator_images(source, val, 64, chunk=limit), 0.1)
    assert evaluators.config.image_size == 32 and -1.0 <= tau <= 1.0
    lazy = LazyImages(source, train, 64)
    settings = SamplingSettings(num_images=2, seed=0)
    samplers = benchmark.method_samplers({"full": _NoPipeline()}, train, lazy, settings)
    picks = test.head(limit // 2)
    for method in ("retrieval", "random"):
        samples = samplers[method](picks)
        assert samples.shape == (len(picks), 2, 3, 64, 64)
        assert evaluators.classify(samples[:, 0])[1].shape[0] == len(picks)


class _NoPipeline:
    """method_samplers needs a full model only for the generative methods, which this test never calls."""

    image_size = 64


def test_calibration_beyond_torch_quantiles_limit(records):
    """A full-scale validation split has far more other-species pairs than torch.quantile's 2**24."""
    train, val = _split(records, "train"), _split(records, "val")
    evaluators = Evaluators.fit(train, evaluator_images(PhenotypeSimulator(seed=0), train, 32), **TINY)
    many = val.sample(n=4800, replace=True, random_state=0).reset_index(drop=True)  # > 2**24 other-species pairs
    images = torch.rand(len(many), 3, 32, 32, generator=torch.Generator().manual_seed(0))
    tau = evaluators.calibrate(many, images, 0.05)
    scores = evaluators.score_matrix(many["barcode"].tolist(), images)
    other = many["species"].to_numpy()[:, None] != many["species"].to_numpy()[None, :]
    assert other.sum() > 2**24
    assert abs(float((scores.numpy()[other] > tau).mean()) - 0.05) < 1e-3
