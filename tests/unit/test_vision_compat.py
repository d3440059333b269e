"""g2p.vision_compat: with g2p imported first, torchvision, transformers, diffusers and bioscan-dataset
import whether or not torchvision's C++ ops can load beside the installed torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from g2p import paths

pytest.importorskip("bioscan_dataset", reason="bioscan-dataset (and torchvision) not installed")

PROBE = """
import sys
import g2p
from diffusers import AutoencoderTiny  # transformers → torchvision
from transformers import PreTrainedModel
import bioscan_dataset, torchvision
print(torchvision.extension._has_ops(), g2p.vision_compat._library is not None)
"""


def test_torchvision_and_its_importers_load_after_g2p():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(paths.src.parent), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    has_ops, defined = done.stdout.split()
    # the two schemas are defined exactly when torchvision's own ops could not load
    assert (has_ops, defined) in {("True", "False"), ("False", "True")}


def test_install_is_idempotent_and_steps_aside():
    from g2p import vision_compat

    before = list(sys.meta_path)
    vision_compat.install()
    vision_compat.install()
    assert sum(isinstance(f, vision_compat._BeforeTorchvision) for f in sys.meta_path) <= 1
    assert len(sys.meta_path) <= len(before) + 1
