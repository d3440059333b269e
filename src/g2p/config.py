"""One preset, resolved once: ``params/<preset>.yaml`` → the typed configuration objects that notebooks
and commands hand to the library.

The path of a setting is always the same: the YAML is read and checked by :mod:`g2p.presets` (unknown
blocks or keys, wrong types and out-of-range values fail naming the file, line and ``block.key``);
:func:`resolve` turns it into a :class:`Preset`; a notebook (or a command) builds the objects it needs
from it once — :meth:`Preset.genepheno` → ``TrainConfig``, :meth:`Preset.baselines` →
``BaselineConfig``, :meth:`Preset.diffusion` → ``DiffusionTrainConfig`` — and passes them on. The
library (``g2p.genepheno``, ``g2p.g2pdiff``, ``g2p.data``) never reads a preset by name.

Each knob has one name everywhere: the YAML key, the notebook parameter and the dataclass field are the
same word (``lambda_ex``, not ``lambda1`` in one place and ``lambda_ex`` in another). Curated dataset
names are derived (:meth:`Preset.curated_names`), never copied by hand into a later block.

This module sits on the top floor with the runner and the CLI: it imports the configuration dataclasses
of both halves (lazily, so reading a preset stays cheap).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from g2p import presets
from g2p.errors import ConfigError

if TYPE_CHECKING:
    from g2p.g2pdiff.config import DiffusionTrainConfig
    from g2p.genepheno.config import BaselineConfig, TrainConfig

CURATION_NOTEBOOK = "01_data_curation"
EVALUATION_NOTEBOOK = "03_evaluate"


def _given(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides without the ``None`` values (a notebook's ``None`` means "the preset's value")."""
    return {k: v for k, v in overrides.items() if v is not None}


@dataclass(frozen=True)
class Preset:
    """A validated preset: ``common`` plus one block per notebook or configuration section."""

    name: str
    blocks: Mapping[str, Mapping[str, Any]]

    @property
    def common(self) -> dict[str, Any]:
        return dict(self.blocks.get("common") or {})

    def block(self, name: str) -> dict[str, Any]:
        """One block merged over ``common`` (what a notebook or a section sees)."""
        return {**self.common, **(self.blocks.get(name) or {})}

    def parameters(self, notebook: str) -> dict[str, Any]:
        """The values the runner injects into ``notebook`` (a stem or path): ``common`` merged with the
        notebook's block, plus ``preset``."""
        return {**self.block(notebook.rsplit("/", 1)[-1].removesuffix(".ipynb")), "preset": self.name}

    def _build(self, section: str, values: Mapping[str, Any], overrides: Mapping[str, Any]) -> Any:
        built = presets.build(self.name, section, values)  # range checks name the YAML file and block
        given = _given(overrides)
        if not given:
            return built
        try:
            return dataclasses.replace(built, **given)
        except (TypeError, ValueError) as exc:
            raise ConfigError(str(exc), field=getattr(exc, "field", None) or ", ".join(sorted(given)),
                              hint=f"check the values given on top of the preset's {section} block") from exc

    def genepheno(self, **overrides: Any) -> TrainConfig:
        """``TrainConfig`` from the ``genepheno`` block over ``common`` (so ``seed`` is shared); ``None``
        overrides keep the preset's value."""
        return self._build("genepheno", self.block("genepheno"), overrides)

    def diffusion(self, *, announce: bool = True, **overrides: Any) -> DiffusionTrainConfig:
        """``DiffusionTrainConfig`` from the ``diffusion`` block (``common.seed`` when the block has none).

        ``data: auto`` becomes ``bioscan5m`` when the BIOSCAN-5M root (``bioscan5m_root`` or
        ``$G2P_BIOSCAN5M_ROOT``) is complete and ``simulator`` otherwise (one line on stderr when
        ``announce``); ``data: bioscan5m`` without it is an InputError (:func:`g2p.data.bioscan5m_root.choose`)."""
        from g2p.data import bioscan5m_root

        values = dict(self.blocks.get("diffusion") or {})
        if "seed" in self.common:
            values.setdefault("seed", self.common["seed"])
        data = overrides.pop("data", None) or values.get("data", "simulator")
        root = overrides.pop("bioscan5m_root", None) or values.get("bioscan5m_root")
        values["data"], values["bioscan5m_root"] = bioscan5m_root.choose(data, root, announce=announce)
        return self._build("diffusion", values, overrides)

    def baselines(self, budget: TrainConfig | None = None, **overrides: Any) -> BaselineConfig:
        """The trained baselines' settings (``03_evaluate.baselines``), with GenePheno's ``epochs`` and
        ``patience`` unless that block sets them: every trained method gets the same budget."""
        from g2p.genepheno.config import BaselineConfig

        budget = budget or self.genepheno()
        values = {"epochs": budget.epochs, "patience": budget.patience,
                  **(self.blocks.get(EVALUATION_NOTEBOOK) or {}).get("baselines", {}), **_given(overrides)}
        try:
            return BaselineConfig.from_dict(values)
        except (TypeError, ValueError) as exc:
            raise presets.located(exc, self.name, f"{EVALUATION_NOTEBOOK}.baselines",
                                  fallback="epochs and patience come from the genepheno block") from exc

    @property
    def variants(self) -> list[str]:
        """The GenePheno variants notebook 03 trains (``03_evaluate.variants``)."""
        return list((self.blocks.get(EVALUATION_NOTEBOOK) or {}).get("variants") or ["complete"])

    def curated_names(self, datasets: Sequence[str]) -> list[str]:
        """The curated folder names notebook 01 writes for ``datasets`` under this preset (``mpo`` or,
        with a ``max_genes`` cap, ``mpo-max400``), derived from its block; a name that is already a
        curated folder's (not a base dataset) is kept."""
        from g2p.data.specs import DEFAULT_MIN_GENES, SPECS, curated_name

        curation = self.block(CURATION_NOTEBOOK)
        return [curated_name(d, max_genes=curation.get("max_genes"), seed=int(curation.get("seed", 0)),
                             min_genes=int(curation.get("min_genes", DEFAULT_MIN_GENES)))
                if d in SPECS else d for d in datasets]


def resolve(preset: str | Preset) -> Preset:
    """The preset ``smoke``, ``quick`` or ``paper``, read and validated (cached until the file changes);
    its configuration blocks are built once here, so an out-of-range value fails now, naming its line."""
    if isinstance(preset, Preset):
        return preset
    resolved = Preset(preset, presets.load(preset))
    # every configuration block is range-checked where it is read, before any notebook or command uses it
    resolved.genepheno()
    resolved.baselines()
    resolved.diffusion(announce=False)
    return resolved
