"""An answer as data: what a graded kernel sends back to the grader, readable without running its code.

A submission's kernel is untrusted, so the grader never unpickles anything from it. :func:`write`
(kernel side) stores a value as a JSON tree plus an ``.npz`` of plain arrays; :func:`read` (grader
side) rebuilds it from those two files with ``json`` and ``numpy.load(allow_pickle=False)``, refusing
links, oversized files and any type outside the list below:

``None``, ``bool``, ``int``, ``float``, ``str``, lists, tuples, dicts with string keys, NumPy arrays
and scalars of numbers, booleans or strings, torch tensors, pandas ``Series`` and ``DataFrame`` (their
columns such arrays).
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

MAX_BYTES = 64 * 2**20  # an answer larger than this is not an answer to any exercise here
MAX_DEPTH = 16
JSON, ARRAYS = "answer.json", "answer.npz"
_KINDS = "biufcU"  # bool, ints, floats, complex, unicode; never object ("O") arrays


class AnswerError(ValueError):
    """A value that cannot be sent back as an answer, or answer files that are not what write() makes."""


def _plain(array: np.ndarray) -> np.ndarray:
    if array.dtype.kind == "O":
        if all(isinstance(x, str) for x in array.ravel()):
            return array.astype(str)
        raise AnswerError("an array of Python objects (only numbers, booleans and strings can be graded)")
    if array.dtype.kind not in _KINDS:
        raise AnswerError(f"an array of dtype {array.dtype}")
    return array


def _encode(value: Any, arrays: dict[str, np.ndarray], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise AnswerError("nested too deeply")

    def array(a: np.ndarray) -> str:
        key = f"a{len(arrays)}"
        arrays[key] = _plain(np.asarray(a))
        return key

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"int": str(value)} if isinstance(value, int) else {"float": repr(float(value))}
    if isinstance(value, np.generic):
        return {"scalar": array(np.asarray(value))}
    if isinstance(value, np.ndarray):
        return {"array": array(value)}
    if isinstance(value, (list, tuple)):
        return {"list" if isinstance(value, list) else "tuple": [_encode(v, arrays, depth + 1) for v in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise AnswerError("a dict whose keys are not all strings")
        return {"dict": {k: _encode(v, arrays, depth + 1) for k, v in value.items()}}
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    if kind == "torch.Tensor" or kind.startswith("torch.") and hasattr(value, "detach"):
        return {"tensor": array(value.detach().cpu().numpy())}
    if kind == "pandas.Series" or kind.startswith("pandas.") and type(value).__name__ == "Series":
        return {"series": {"name": _encode(value.name, arrays, depth + 1), "data": array(value.to_numpy()),
                           "index": array(value.index.to_numpy())}}
    if kind == "pandas.DataFrame" or kind.startswith("pandas.") and type(value).__name__ == "DataFrame":
        return {"frame": {"columns": [str(c) for c in value.columns],
                          "data": [array(value[c].to_numpy()) for c in value.columns],
                          "index": array(value.index.to_numpy())}}
    raise AnswerError(f"a {type(value).__name__}")


def write(value: Any, folder: Path, **extra: Any) -> None:
    """Store ``value`` in ``folder`` (kernel side); ``extra`` goes into the JSON beside it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(value, arrays, 0)
    np.savez(folder / ARRAYS, **arrays)  # uncompressed: read() can bound its size before loading
    (folder / JSON).write_text(json.dumps({"value": tree, **extra}))


def write_error(folder: Path, **fields: Any) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / JSON).write_text(json.dumps({"error": fields}))


def _read_bytes(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise AnswerError(f"{path.name} is missing") from None
    except OSError as exc:
        raise AnswerError(f"{path.name} cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        import stat

        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
            raise AnswerError(f"{path.name} is not a regular file of at most {MAX_BYTES // 2**20} MiB")
        return fh.read(MAX_BYTES + 1)


def read_record(folder: Path) -> dict[str, Any]:
    """The JSON record of ``folder`` (grader side): ``{"value": tree, ...}`` or ``{"error": {...}}``."""
    try:
        record = json.loads(_read_bytes(Path(folder) / JSON))
    except ValueError as exc:
        raise AnswerError(f"{JSON} is not JSON ({exc})") from None
    if not isinstance(record, dict) or not ({"value", "error"} & set(record)):
        raise AnswerError(f"{JSON} is not an answer record")
    return record


def _arrays(folder: Path) -> dict[str, np.ndarray]:
    import io

    data = _read_bytes(Path(folder) / ARRAYS)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_BYTES:
            raise AnswerError(f"{ARRAYS} unpacks to more than {MAX_BYTES // 2**20} MiB")
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def _decode(node: Any, arrays: dict[str, np.ndarray], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise AnswerError("nested too deeply")
    if node is None or isinstance(node, (bool, str)):
        return node
    if not isinstance(node, dict) or len(node) != 1:
        raise AnswerError(f"unexpected node {str(node)[:60]!r}")
    (kind, body), = node.items()

    def array(key: Any) -> np.ndarray:
        if not isinstance(key, str) or key not in arrays:
            raise AnswerError(f"unknown array {key!r}")
        return arrays[key]

    if kind == "int":
        return int(body)
    if kind == "float":
        return float(body)
    if kind == "scalar":
        return array(body)[()]
    if kind == "array":
        return array(body)
    if kind in ("list", "tuple"):
        items = [_decode(v, arrays, depth + 1) for v in body]
        return items if kind == "list" else tuple(items)
    if kind == "dict":
        return {str(k): _decode(v, arrays, depth + 1) for k, v in body.items()}
    if kind == "tensor":
        import torch

        return torch.from_numpy(np.array(array(body)))
    if kind == "series":
        import pandas as pd

        return pd.Series(array(body["data"]), index=array(body["index"]), name=_decode(body["name"], arrays, depth + 1))
    if kind == "frame":
        import pandas as pd

        columns = [str(c) for c in body["columns"]]
        return pd.DataFrame({c: array(k) for c, k in zip(columns, body["data"])}, index=array(body["index"]))
    raise AnswerError(f"unknown kind {kind!r}")


def read(folder: Path) -> Any:
    """The value :func:`write` stored in ``folder``; :class:`AnswerError` for anything else."""
    record = read_record(folder)
    if "value" not in record:
        raise AnswerError("the record holds an error, not a value")
    return _decode(record["value"], _arrays(folder), 0)
