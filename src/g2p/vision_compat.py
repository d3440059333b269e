"""Let torchvision import beside a CPU build of torch whose C++ ops torchvision cannot load.

``bioscan-dataset`` (the official BIOSCAN-5M loader) needs torchvision, and PyPI's torchvision 0.28.0
for Linux is built against the CUDA build of torch 2.13.0. Beside the CPU build (``torch==2.13.0+cpu``,
what ``make install TORCH_INDEX_URL=…/whl/cpu`` and this project's CI machine install) its ``_C``
extension fails to load; torchvision then carries on without its ops, except that
``torchvision/_meta_registrations.py`` registers fake kernels for ``torchvision::nms`` and
``torchvision::qnms`` without checking, so ``import torchvision`` (and with it ``transformers`` and
``diffusers``, which import it whenever it is installed) fails with "operator torchvision::nms does not
exist".

:func:`install` (called by ``import g2p``) puts a finder first on ``sys.meta_path`` that acts once,
just before torchvision is first imported: it loads torchvision's ``_C`` itself, and only if that fails
defines the schemas of those two operators, so the registration finds them. Nothing else changes:
torchvision's own ops stay unavailable (calling ``nms`` raises), and nothing in g2p uses them. With a
matching torch/torchvision pair (a CUDA machine, or a CPU pair from the same index) ``_C`` loads and
the finder defines nothing. Without torchvision installed it does nothing at all.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

_SCHEMAS = ("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
            "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
_library = None  # the torch.library.Library that holds the schemas (dropping it would remove them)


def _extension(package_dir: Path) -> Path | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = package_dir / f"_C{suffix}"
        if path.is_file():
            return path
    return None


def prepare() -> bool:
    """Make ``import torchvision`` work; True when the two operator schemas had to be defined."""
    global _library
    if _library is not None or "torchvision" in sys.modules:
        return False
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return False
    import torch

    extension = _extension(Path(next(iter(spec.submodule_search_locations))))
    if extension is not None:
        try:
            torch.ops.load_library(str(extension))
            return False
        except OSError:
            pass
    _library = torch.library.Library("torchvision", "DEF")
    for schema in _SCHEMAS:
        _library.define(schema)
    return True


class _BeforeTorchvision(importlib.abc.MetaPathFinder):
    """Runs :func:`prepare` once, when torchvision is about to be imported, then steps aside."""

    def find_spec(self, fullname, path, target=None):  # noqa: ANN001 - the finder protocol
        if fullname == "torchvision":
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            prepare()
        return None  # the ordinary finders import it


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (idempotent; nothing when torchvision is absent or
    already imported)."""
    if "torchvision" in sys.modules or any(isinstance(f, _BeforeTorchvision) for f in sys.meta_path):
        return
    if importlib.util.find_spec("torchvision") is None:
        return
    sys.meta_path.insert(0, _BeforeTorchvision())
