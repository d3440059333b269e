"""Presets: reading and checking ``params/{smoke,quick,paper}.yaml`` (the typed objects built from a
checked preset are :mod:`g2p.config`'s).

A preset file has a ``common`` block (given to every notebook that declares the name) and one block
per notebook stem (``01_data_curation`` …) that overrides it, plus the configuration blocks
(``genepheno`` → ``TrainConfig``, ``diffusion`` → ``DiffusionTrainConfig``). The runner passes each
notebook only the names its ``parameters`` cell declares.

Every preset is validated when it is loaded, so a typo fails at once, naming the YAML file, the line,
and ``block.key`` (:class:`g2p.errors.ConfigError`), instead of being dropped silently:

* blocks: ``common``, a notebook stem, or a configuration block of :data:`SCHEMAS`;
* a notebook block's keys: the names the notebook's ``parameters`` cell declares (plus the few keys
  code reads from that block, :data:`CODE_KEYS`), each of the type of the notebook's default;
* a configuration block's keys: the fields of its dataclass, each of the field's annotated type;
  :func:`build` makes the dataclass (for :mod:`g2p.config`) so its own range checks
  (``epochs >= 1`` …) also name the file and block;
* ``common``'s keys: declared by some notebook or a field of some configuration block;
* every notebook parameter's value in its range (:data:`PARAMETER_RANGES`: ``n_boot: 0`` or
  ``fdr: 2`` name their line), and each key once per block (YAML would keep the last of two).

Validation reads the notebooks' JSON and the dataclasses' source (``ast``), not the modules, so
loading a preset stays cheap (no torch import).
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import functools
import importlib
import importlib.util
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from g2p import paths, ranges
from g2p.errors import ConfigError, InputError

PRESETS = ("smoke", "quick", "paper", "paper-dry")
#: An overlay's top-level key: ``base: paper`` names the preset it is merged onto, key by key (nested
#: mappings too; a list is replaced). ``paper-dry`` is paper with its counts and sizes cut to seconds.
BASE_KEY = "base"

#: Configuration blocks → the dataclass (module, class) each maps to.
SCHEMAS: dict[str, tuple[str, str]] = {
    "genepheno": ("g2p.genepheno.config", "TrainConfig"),
    "diffusion": ("g2p.g2pdiff.config", "DiffusionTrainConfig"),
}
#: Keys of a notebook block that code reads (through :mod:`g2p.config`), besides the notebook's parameters:
#: a type name, or a (module, class) whose fields the nested mapping must use.
CODE_KEYS: dict[str, dict[str, str | tuple[str, str]]] = {
    "03_evaluate": {"variants": "list", "baselines": ("g2p.genepheno.config", "BaselineConfig")},
}
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
_ANY = object()


def _seed(field: str, value: object) -> None:
    ranges.integer(field, value, minimum=0, maximum=2**32 - 1, optional=True)


def _seeds(field: str, value: object) -> None:
    if value is not None:
        ranges.integers(field, value, minimum=0, maximum=2**32 - 1)


def _count(minimum: int = 1, maximum: int | None = None) -> object:
    return lambda field, value: ranges.integer(field, value, minimum=minimum, maximum=maximum, optional=True)


def _scale(field: str, value: object) -> None:
    ranges.number(field, value, optional=True)


def _open_fraction(field: str, value: object) -> None:
    ranges.number(field, value, above=0.0, below=1.0, optional=True)


def _names(field: str, value: object) -> None:
    if value is not None and (not isinstance(value, list) or not value
                              or not all(isinstance(v, str) and v for v in value)):
        raise ranges.RangeError(field, f"must be a non-empty list of names, got {value!r}")


#: The range of every notebook parameter (by name, whichever notebook declares it): a preset value
#: outside it fails where it is read, naming the line, instead of inside a kernel. ``None`` stays
#: allowed (the notebooks' "the preset's value" / "all").
PARAMETER_RANGES: dict[str, object] = {
    "seed": _seed, "seeds": _seeds, "ablation_seeds": _seeds,
    "datasets": _names, "variants": _names,
    "workers": _count(1, 256), "min_genes": _count(1), "max_genes": _count(3),
    "n_boot": _count(1, 1_000_000), "per_bin": _count(1), "concepts_per_term": _count(1), "min_true": _count(1),
    "top_k": _count(1), "explorer_concepts": _count(1), "explorer_genes": _count(1),
    "fdr": _open_fraction, "false_positive_rate": _open_fraction,
    "image_size": _count(16, 1024), "k": _count(1, 8), "max_species": _count(1), "per_species": _count(1),
    "n_eval": _count(1), "num_images": _count(1, 1000), "ablation_images": _count(1, 1000),
    "reference_per_species": _count(0, 100_000),
    "num_inference_steps": _count(1, 10_000), "evaluator_epochs": _count(1, 100_000),
    "sweep_records": _count(1), "sweep_points": _count(2, 1000), "sweep_images": _count(1, 1000),
    "sweep_max_lat": lambda field, value: ranges.number(field, value, above=0.0, maximum=90.0, optional=True),
    "guidance_scale": _scale, "environment_guidance_scale": _scale, "alignment_scale": _scale,
    "lambda_ex": lambda field, value: ranges.number(field, value, minimum=0.0, optional=True),
    "lambda_go": lambda field, value: ranges.number(field, value, minimum=0.0, optional=True),
    "tau": lambda field, value: ranges.number(field, value, above=0.0, optional=True),
    "cpu_threads": _count(1, 4096),
}


class _UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (YAML would keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one block (lines {seen[key]} and {line}); "
                    "YAML would keep the last one silently", key_node.start_mark)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def preset_file(preset: str) -> Path:
    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}", field="preset", hint=f"choose one of {', '.join(PRESETS)}")
    return paths.params / f"{preset}.yaml"


# --------------------------------------------------------------------------------------- types
def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)


def _expected_name(kind: object) -> str:
    if kind is _ANY:
        return "anything"
    if isinstance(kind, tuple) and kind and kind[0] == "union":
        return " or ".join(_expected_name(k) for k in kind[1])
    if isinstance(kind, tuple) and kind and kind[0] == "seq":
        return f"a list of {_expected_name(kind[1]).removeprefix('a ').removeprefix('an ')}s"
    return {type(None): "null", bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(kind, str(kind))  # type: ignore[call-overload]


def _matches(value: object, kind: object) -> bool:
    if kind is _ANY:
        return True
    if isinstance(kind, tuple) and kind and kind[0] == "union":
        return any(_matches(value, k) for k in kind[1])
    if isinstance(kind, tuple) and kind and kind[0] == "seq":
        return isinstance(value, (list, tuple)) and all(_matches(v, kind[1]) for v in value)
    if kind is type(None):
        return value is None
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind in (str, list, dict):
        return isinstance(value, kind)  # type: ignore[arg-type]
    return True


def _kind_of_annotation(node: ast.expr) -> object:
    """``int``, ``str | None``, ``tuple[int, ...]`` … (an annotation's AST) → a checkable kind."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return _ANY
    if isinstance(node, ast.Constant) and node.value is None:
        return type(None)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return ("union", (_kind_of_annotation(node.left), _kind_of_annotation(node.right)))
    if isinstance(node, ast.Name):
        return {"int": int, "float": float, "str": str, "bool": bool, "list": list, "dict": dict,
                "tuple": list}.get(node.id, _ANY)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        if node.value.id in ("tuple", "list", "Sequence"):
            inner = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
            return ("seq", _kind_of_annotation(inner))
        if node.value.id in ("dict", "Mapping"):
            return dict
        if node.value.id == "Optional":
            return ("union", (_kind_of_annotation(node.slice), type(None)))
    return _ANY


def _kind_of_default(value: object) -> object:
    """The type a notebook parameter's default implies; null is always allowed (the notebooks use
    ``None`` for "all" / "the preset's value")."""
    if value is None:
        return _ANY
    for kind in (bool, int, float, str, dict):
        if isinstance(value, kind):
            return ("union", (kind, type(None)))
    if isinstance(value, (list, tuple)):
        return ("union", (list, type(None)))
    return _ANY


# --------------------------------------------------------------------------------------- sources
@functools.lru_cache(maxsize=16)
def _dataclass_fields_cached(origin: str, mtime_ns: int, class_name: str, module: str = "") -> dict[str, object] | None:
    tree = ast.parse(Path(origin).read_text(encoding="utf-8"))
    classes = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            fields = {}
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    if "ClassVar" in ast.unparse(item.annotation):
                        continue
                    fields[item.target.id] = _nested(_kind_of_annotation(item.annotation), item.annotation,
                                                     classes, module)
            return fields
    return None


def _nested(kind: object, annotation: ast.expr, classes: set[str], module: str) -> object:
    """A field annotated with another class of the same module (``GoPretrainConfig | None``): the
    nested mapping is checked against that class's fields, (module, class), or null where allowed."""
    names = [n.id for n in ast.walk(annotation) if isinstance(n, ast.Name) and n.id in classes]
    if len(names) != 1 or not module:
        return kind
    nested = (module, names[0])
    optional = "None" in ast.unparse(annotation)
    return ("union", (nested, type(None))) if optional else nested


def dataclass_fields(module: str, class_name: str) -> dict[str, object] | None:
    """``{field: kind}`` of a dataclass read from its module's source, without importing it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    origin = Path(spec.origin)
    return _dataclass_fields_cached(str(origin), origin.stat().st_mtime_ns, class_name, module)


@functools.lru_cache(maxsize=32)
def _notebook_parameters_cached(path: str, mtime_ns: int) -> dict[str, object]:
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell.get("source", []))
            defaults: dict[str, object] = {}
            for node in ast.parse(source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    try:
                        defaults[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        defaults[node.targets[0].id] = None
            return defaults
    return {}


def notebook_defaults(notebook: Path) -> dict[str, object]:
    """``{name: default}`` of a notebook's ``parameters`` cell (read from the JSON, no kernel)."""
    notebook = Path(notebook)
    return _notebook_parameters_cached(str(notebook), notebook.stat().st_mtime_ns)


def _notebooks() -> dict[str, Path]:
    return {p.stem: p for p in sorted(paths.notebooks.glob(NOTEBOOK_GLOB))}


# --------------------------------------------------------------------------------------- reading
def _lines(text: str) -> dict[tuple[str, ...], int]:
    """``{(block,) or (block, key): 1-based line}`` from the YAML's node marks."""
    lines: dict[tuple[str, ...], int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines
    if not isinstance(root, yaml.MappingNode):
        return lines
    for key, value in root.value:
        block = str(key.value)
        lines[(block,)] = key.start_mark.line + 1
        if isinstance(value, yaml.MappingNode):
            for sub_key, sub_value in value.value:
                lines[(block, str(sub_key.value))] = sub_key.start_mark.line + 1
                if isinstance(sub_value, yaml.MappingNode):
                    for leaf, _ in sub_value.value:
                        lines[(block, str(sub_key.value), str(leaf.value))] = leaf.start_mark.line + 1
    return lines


def _read(path: Path) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError("preset file not found", path=path, hint="restore it from git: git checkout -- params/") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason})", path=path) from exc
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"not valid YAML: {problem}", path=path,
                          line=mark.line + 1 if mark is not None else None) from exc
    if isinstance(data, dict) and BASE_KEY in data:
        base = data[BASE_KEY]
        if base not in PRESETS or base == path.stem:
            raise ConfigError(f"base {base!r} is not another preset", path=path, line=_lines(text).get((BASE_KEY,)),
                              field=BASE_KEY, hint=f"name one of {', '.join(p for p in PRESETS if p != path.stem)}")
        data.setdefault("common", {})
    if not isinstance(data, dict) or not isinstance(data.get("common"), dict):
        raise ConfigError("a preset needs a top-level 'common' mapping", path=path, field="common",
                          hint="see params/quick.yaml for the layout")
    return data, _lines(text)


def merged(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """``overlay`` merged onto ``base``: mappings key by key (recursively), anything else replaced."""
    out = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class _Checker:
    def __init__(self, path: Path, lines: dict[tuple[str, ...], int]) -> None:
        self.path, self.lines = path, lines

    def fail(self, keys: tuple[str, ...], message: str, hint: str | None = None) -> None:
        line = self.lines.get(keys) or self.lines.get(keys[:2]) or self.lines.get(keys[:1])
        raise ConfigError(message, path=self.path, line=line, field=".".join(keys), hint=hint)

    def keys(self, keys: tuple[str, ...], block: Mapping[str, Any], allowed: Mapping[str, object], what: str) -> None:
        for key, value in block.items():
            if key not in allowed:
                close = _closest(str(key), allowed)
                self.fail((*keys, str(key)), f"unknown key {key!r} for {what}",
                          hint=f"did you mean {close!r}?" if close else f"known keys: {', '.join(sorted(allowed))}")
            self.value((*keys, str(key)), value, allowed[key])

    def value(self, keys: tuple[str, ...], value: object, kind: object) -> None:
        if isinstance(kind, tuple) and kind and kind[0] == "union" and any(_is_nested(k) for k in kind[1]):
            if value is None and type(None) in kind[1]:
                return
            kind = next(k for k in kind[1] if _is_nested(k))
        if _is_nested(kind):  # nested dataclass
            if value is None:
                return
            if not isinstance(value, dict):
                self.fail(keys, f"expected a mapping, got {_type_name(value)} {value!r}")
            fields = dataclass_fields(*kind)
            if fields is not None:
                self.keys(keys, value, fields, kind[1])
            return
        if kind == "list":
            kind = list
        if not _matches(value, kind):
            self.fail(keys, f"expected {_expected_name(kind)}, got {_type_name(value)} {value!r}")

    def in_range(self, keys: tuple[str, ...], value: object) -> None:
        """A notebook parameter's value in :data:`PARAMETER_RANGES`' range for its name."""
        check = PARAMETER_RANGES.get(keys[-1])
        if check is None:
            return
        try:
            check(keys[-1], value)  # type: ignore[operator]
        except ranges.RangeError as exc:
            self.fail(keys, str(exc))


def _is_nested(kind: object) -> bool:
    """A (module, class) kind: a mapping checked against that dataclass's fields."""
    return isinstance(kind, tuple) and len(kind) == 2 and all(isinstance(k, str) for k in kind) and kind[0] != "union"


def _closest(key: str, allowed: Mapping[str, object]) -> str | None:
    import difflib

    found = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.75)
    return found[0] if found else None


def validate(data: Mapping[str, Any], path: Path, lines: dict[tuple[str, ...], int] | None = None) -> None:
    """Check a parsed preset (see the module docstring); raise :class:`ConfigError` at the first problem."""
    check = _Checker(Path(path), lines or {})
    notebooks = _notebooks()
    declared = {stem: notebook_defaults(nb) for stem, nb in notebooks.items()}
    schemas = {name: dataclass_fields(*where) for name, where in SCHEMAS.items()}
    known_blocks = ["common", *notebooks, *SCHEMAS]
    for block, body in data.items():
        if block not in known_blocks:
            close = _closest(str(block), dict.fromkeys(known_blocks))
            check.fail((str(block),), f"unknown block {block!r}",
                       hint=f"did you mean {close!r}?" if close else f"blocks are {', '.join(known_blocks)}")
        if body is not None and not isinstance(body, dict):
            check.fail((str(block),), f"a block is a mapping of keys, got {_type_name(body)} {body!r}")
    for stem, defaults in declared.items():
        block = data.get(stem) or {}
        allowed: dict[str, object] = {name: _kind_of_default(default) for name, default in defaults.items()}
        allowed.update(CODE_KEYS.get(stem, {}))
        check.keys((stem,), block, allowed, f"notebook {stem} (not a name its parameters cell declares)")
        for key, value in block.items():
            if key in defaults:
                check.in_range((stem, str(key)), value)
    for name, fields in schemas.items():
        if fields is not None:
            check.keys((name,), data.get(name) or {}, fields, f"{SCHEMAS[name][1]} ({SCHEMAS[name][0]})")
    common_allowed: dict[str, object] = {}
    for defaults in declared.values():
        for name, default in defaults.items():
            common_allowed.setdefault(name, _kind_of_default(default))
    for fields in schemas.values():
        for name, kind in (fields or {}).items():
            common_allowed.setdefault(name, kind)
    check.keys(("common",), data["common"], common_allowed, "the common block (no notebook declares it)")
    notebook_names = {name for defaults in declared.values() for name in defaults}
    for key, value in data["common"].items():
        if key in notebook_names:
            check.in_range(("common", str(key)), value)


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int, size: int, notebooks_key: str, base_key: str) -> dict[str, Any]:
    data, lines = _read(Path(path))
    base = data.pop(BASE_KEY, None)
    if base is not None:  # an overlay: checked as the merged preset, its own keys named at its own lines
        data = merged(load(base), data)
    validate(data, Path(path), lines)
    return data


def overlay_of(preset: str) -> tuple[str | None, dict[str, Any]]:
    """``(base, blocks as written)`` of an overlay preset; ``(None, {})`` for a preset that is not one."""
    data, _ = _read(preset_file(preset))
    base = data.pop(BASE_KEY, None)
    return base, (data if base is not None else {})


def load(preset: str) -> dict[str, Any]:
    """The whole preset as a dict (``common`` plus one block per notebook), validated; an overlay
    (:data:`BASE_KEY`) merged onto its base first."""
    path = preset_file(preset)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ConfigError("preset file not found", path=path, hint="restore it from git: git checkout -- params/") from None
    notebooks_key = json.dumps([(str(p), p.stat().st_mtime_ns) for p in _notebooks().values()])
    base_key = json.dumps([(str(p), p.stat().st_mtime_ns, p.stat().st_size)
                           for p in sorted(paths.params.glob("*.yaml")) if p != path])
    return copy.deepcopy(_load_cached(str(path), stat.st_mtime_ns, stat.st_size, notebooks_key, base_key))


def build(preset: str, name: str, values: Mapping[str, Any]) -> Any:
    """``SCHEMAS[name]``'s dataclass from ``values``; its ``ValueError``/``TypeError`` → ConfigError."""
    module, class_name = SCHEMAS[name]
    cls = getattr(importlib.import_module(module), class_name)
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in values.items() if k in names}
    try:
        return cls.from_dict(values) if hasattr(cls, "from_dict") else cls(**values)
    except (ValueError, TypeError) as exc:
        raise located(exc, preset, name, hint=f"fix the {name} block") from exc


def located(exc: Exception, preset: str, block: str, *, hint: str | None = None,
            fallback: str | None = None) -> ConfigError:
    """``exc`` from building ``block``'s dataclass as a :class:`ConfigError` naming the YAML line of
    the field at fault (a :class:`g2p.ranges.RangeError`'s ``field``): the block's own key, else
    ``common``'s (whose values the block inherits)."""
    path = preset_file(preset)
    _, lines = _read(path)
    field = getattr(exc, "field", None)
    if field is None:
        return ConfigError(str(exc), path=path, line=lines.get((block,)), field=block, hint=hint)
    parts = tuple(block.split("."))
    for keys in ((*parts, *field.split(".")), ("common", field)):
        if keys in lines:
            return ConfigError(str(exc), path=path, line=lines[keys], field=".".join(keys), hint=hint)
    # not in the file: a default, or a value given on top of the preset (a notebook parameter)
    return ConfigError(str(exc), path=path, line=lines.get(parts[:1]), field=f"{block}.{field}",
                       hint=fallback or hint)

