"""``python -m g2p <command>``: one argparse subcommand per module.

Each command module exposes ``add_arguments(parser)`` and ``main(args) -> int``. Only the chosen
command's module is imported, so ``--help`` is fast and a command whose module is missing or broken
is reported in one clear line instead of a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Command:
    module: str
    help: str
    add_arguments: str = "add_arguments"
    main: str = "main"


COMMANDS: dict[str, Command] = {
    "run": Command("g2p.runner", "execute the notebooks of a preset with papermill"),
    "book": Command("g2p.runner", "build the Jupyter Book from the executed notebooks",
                    add_arguments="add_book_arguments", main="book_main"),
    "curate": Command("g2p.data.curate", "build a curated dataset (mpo or hpo)"),
    "train": Command("g2p.genepheno.train", "train a GenePheno model"),
    "evaluate": Command("g2p.genepheno.evaluate", "evaluate GenePheno and baselines"),
    "predict": Command("g2p.genepheno.predict", "rank phenotypes for sequences"),
    "generate": Command("g2p.g2pdiff.pipeline", "generate specimen images from DNA barcodes"),
}


class CommandUnavailable(RuntimeError):
    pass


def is_available(command: Command) -> bool:
    """Whether the command's module exists, found without importing it."""
    try:
        return importlib.util.find_spec(command.module) is not None
    except (ImportError, ValueError):
        return False


def load(name: str) -> ModuleType:
    command = COMMANDS[name]
    try:
        module = importlib.import_module(command.module)
    except ImportError as exc:
        raise CommandUnavailable(
            f"command {name!r} is not available: module {command.module} cannot be imported "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    for attr in (command.add_arguments, command.main):
        if not callable(getattr(module, attr, None)):
            raise CommandUnavailable(
                f"command {name!r} is not available: {command.module} has no {attr}()"
            )
    return module


def _help(command: Command) -> str:
    if is_available(command):
        return command.help
    return f"{command.help} [not available: {command.module} not found]"


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``chosen``'s module is imported to add its arguments."""
    parser = argparse.ArgumentParser(
        prog="g2p",
        description="Genotype-to-phenotype companion: GenePheno and G2PDiffusion.",
        epilog="`python -m g2p COMMAND --help` shows a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, command in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=_help(command), description=command.help)
        if name == chosen:
            module = load(name)
            getattr(module, command.add_arguments)(sub_parser)
            sub_parser.set_defaults(handler=getattr(module, command.main))
    return parser


def _chosen_command(argv: Sequence[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = _chosen_command(argv)
    try:
        parser = build_parser(chosen)
    except CommandUnavailable as exc:
        print(f"g2p: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return int(args.handler(args) or 0)
