"""Where a pretrained Hugging Face model is found: a local folder, or the local Hugging Face cache. Both
halves load through it: GenePheno's ``hf`` sequence encoder and G2PDiffusion's ``pretrained_encoder``.

Nothing is downloaded at run time (:func:`local_model` never opens a connection), so a model that is
missing is reported at once, offline or not, in one line that names the model, where it was looked
for and how to provide it. ``hf_model`` (the preset key, ``--hf-model``) is either

* a local folder holding ``config.json`` and the weights (a path: it starts with ``/``, ``.`` or
  ``~``, or it exists), or
* a hub id (``facebook/esm2_t33_650M_UR50D``) whose snapshot is in the Hugging Face cache
  (``$HF_HUB_CACHE``, by default ``~/.cache/huggingface/hub``), put there by ``hf download <id>``.
"""

from __future__ import annotations

from pathlib import Path

from g2p.errors import InputError


def looks_like_path(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or Path(name).expanduser().exists()


def _setting(field: str) -> str:
    return f"{field} (or --hf-model)" if field == "hf_model" else field


def check_folder(name: str, field: str = "hf_model") -> Path:
    """``name`` as a local model folder; :class:`InputError` naming it when it is not one."""
    folder = Path(name).expanduser()
    hint = f"set {_setting(field)} to a folder written by save_pretrained, or to a hub id in the local cache"
    if not folder.exists():
        raise InputError("local Hugging Face model folder does not exist", path=folder, field=field, hint=hint)
    if not folder.is_dir():
        raise InputError("is a file, not a Hugging Face model folder", path=folder, field=field, hint=hint)
    if not (folder / "config.json").is_file():
        raise InputError("not a Hugging Face model folder (no config.json)", path=folder, field=field, hint=hint)
    return folder


def local_model(name: str, field: str = "hf_model") -> Path:
    """The local folder to load ``name`` from (see the module docstring); never the network. ``field``:
    the setting an error names."""
    if looks_like_path(name):
        return check_folder(name, field)
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(name, local_files_only=True))
    except (LocalEntryNotFoundError, HFValidationError, OSError) as exc:
        reason = "is not a valid hub id" if isinstance(exc, HFValidationError) else "is not in the local Hugging Face cache"
        raise InputError(
            f"pretrained model {name!r} {reason} (looked in {constants.HF_HUB_CACHE}; nothing is downloaded "
            "at run time)", field=field,
            hint=f"download it once with `hf download {name}` (or `huggingface-cli download {name}`), "
                 f"or set {_setting(field)} to a local folder holding it") from exc
