"""The values an executed notebook glued with ``myst_nb.glue``, read back from its JSON (no kernel): what
the notebook tests, the course grader and the landing page check."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

_NUMPY_SCALAR = re.compile(r"^(?:np|numpy)\.\w+\((.*)\)$", re.DOTALL)


def _parse_repr(text: str) -> Any:
    """Turn a glued ``text/plain`` repr back into a Python value where it is a literal."""
    text = text.strip()
    match = _NUMPY_SCALAR.match(text)  # numpy 2 reprs scalars as np.float64(0.25)
    if match:
        text = match.group(1)
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def read_glued(path: Path) -> dict[str, Any]:
    """The values a notebook glued with ``myst_nb.glue``: numbers and strings from their text/plain
    reprs; glued ``IPython.display.Markdown`` as its Markdown text."""
    nb = json.loads(Path(path).read_text())
    values: dict[str, Any] = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook")
            if not scrap or "name" not in scrap:
                continue
            prefix = scrap.get("mime_prefix", "application/papermill.record/")
            markdown = output.get("data", {}).get(prefix + "text/markdown")
            if markdown is not None:
                values[scrap["name"]] = "".join(markdown) if isinstance(markdown, list) else markdown
                continue
            text = output.get("data", {}).get(prefix + "text/plain")
            if text is None:
                continue
            values[scrap["name"]] = _parse_repr("".join(text) if isinstance(text, list) else text)
    return values
