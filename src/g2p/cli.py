"""``python -m g2p <command>``: one argparse subcommand per module, and the one place errors are printed.

Each command module exposes ``add_arguments(parser)`` and ``main(args) -> int``. Only the chosen
command's module is imported, so ``--help`` is fast and a command whose module is missing or broken
is reported in one clear line instead of a traceback.

Errors: every exception a command raises ends here. An expected one (:class:`g2p.errors.G2PError`,
a missing or unreadable file, a bad command line) is printed as one line,
``error: <file>[, line N][, field 'F']: <what> (<what to do>)``, with exit status 1 (2 for a bad
command line); an ``OSError`` names its file and says what to do (disk full, no permission, a file
too large: :func:`g2p.errors.describe_os_error`). Anything else is a bug: one line saying so, exit status 1. ``--debug`` (anywhere on
the command line) or ``G2P_DEBUG=1`` re-raises instead, with the full traceback.

The argument types (:mod:`g2p.argtypes`: ``positive_int``, ``finite_float`` …) let commands reject
out-of-range values while parsing, with the option named.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import NoReturn

from g2p.errors import G2PError, UsageError, describe_os_error

DEBUG_ENV = "G2P_DEBUG"


@dataclass(frozen=True)
class Command:
    module: str
    help: str
    add_arguments: str = "add_arguments"
    main: str = "main"


COMMANDS: dict[str, Command] = {
    "run": Command("g2p.runner", "execute the notebooks of a preset with papermill"),
    "book": Command("g2p.runner", "build the Jupyter Book from a preset's executed notebooks",
                    add_arguments="add_book_arguments", main="book_main"),
    "check-book": Command("g2p.bookcheck", "open every page of the built book in headless Chromium, check it, "
                                           "screenshot it"),
    "course": Command("g2p.course", "instructor pack: build student/instructor copies, grade a submission"),
    "curate": Command("g2p.data.curate", "build a curated dataset (mpo or hpo)"),
    "train": Command("g2p.genepheno.train", "train a GenePheno model"),
    "evaluate": Command("g2p.genepheno.benchmark", "evaluate GenePheno and baselines"),
    "predict": Command("g2p.genepheno.predict", "rank phenotypes for sequences"),
    "generate": Command("g2p.g2pdiff.pipeline", "generate specimen images from DNA barcodes"),
}


class CommandUnavailable(G2PError):
    exit_code = 2


# --------------------------------------------------------------------------------------- parser
class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad command line raises :class:`UsageError` (printed as one line by ``main``)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", hint=f"see {self.prog} --help")


def load(name: str) -> ModuleType:
    command = COMMANDS[name]
    try:
        module = importlib.import_module(command.module)
    except ImportError as exc:
        raise CommandUnavailable(
            f"command {name!r} is not available: module {command.module} cannot be imported "
            f"({type(exc).__name__}: {exc})",
            hint="reinstall with `make install`",
        ) from exc
    for attr in (command.add_arguments, command.main):
        if not callable(getattr(module, attr, None)):
            raise CommandUnavailable(f"command {name!r} is not available: {command.module} has no {attr}()")
    return module


def _add_debug(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--debug", action="store_true", default=default,
                        help=f"show the full traceback of an error (or set {DEBUG_ENV}=1)")


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``chosen``'s module is imported to add its arguments."""
    parser = ArgumentParser(
        prog="g2p",
        description="Genotype-to-phenotype companion: GenePheno and G2PDiffusion.",
        epilog="`python -m g2p COMMAND --help` shows a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_debug(parser, False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands", parser_class=ArgumentParser)
    for name, command in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=command.help, description=command.help)
        _add_debug(sub_parser, argparse.SUPPRESS)  # the top-level value stands unless given here
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


# --------------------------------------------------------------------------------------- errors
def describe(exc: BaseException) -> tuple[str, int]:
    """One line for ``exc`` and the exit status."""
    if isinstance(exc, G2PError):
        return f"error: {exc}", exc.exit_code
    if isinstance(exc, OSError) and (line := describe_os_error(exc)) is not None:
        return f"error: {line}", 1
    if isinstance(exc, MemoryError):
        return "error: out of memory (try a smaller preset, e.g. --preset smoke)", 1
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return (f"error: internal error, {type(exc).__name__}: {first_line} "
            f"(a bug: rerun with --debug and report the traceback)"), 1


def _debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


class Terminated(KeyboardInterrupt):
    """SIGTERM (a time limit, ``kill``, a CI job stopped): unwinds like Ctrl-C, so every ``finally``
    runs (temporaries removed, kernels shut down, locks released)."""


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While a command runs in the main thread, SIGTERM raises :class:`Terminated` instead of killing
    the process where it stands."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted(exc: KeyboardInterrupt) -> tuple[str, int]:
    terminated = isinstance(exc, Terminated) or isinstance(exc.__context__, Terminated) \
        or type(exc.__cause__).__name__ == "Terminated"
    what, code = ("terminated (SIGTERM)", 143) if terminated else ("interrupted", 130)
    reason = str(exc).strip()
    return f"error: {what}" + (f": {reason}" if reason else ""), code


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(argv)
    try:
        with _sigterm_unwinds():
            parser = build_parser(_chosen_command(argv))
            args = parser.parse_args(argv)
            if args.command is None:
                parser.print_help()
                return 2
            return int(args.handler(args) or 0)
    except KeyboardInterrupt as exc:
        if debug:
            raise
        line, code = _interrupted(exc)
        print(line, file=sys.stderr)
        return code
    except SystemExit:
        raise  # --help, --version
    except Exception as exc:  # noqa: BLE001 - the CLI boundary: one line, no traceback
        if debug:
            raise
        line, code = describe(exc)
        print(line, file=sys.stderr)
        return code
