"""Kernels for papermill that stay quiet, and the one exception an interrupted execution ends in.

A kernel started by :func:`g2p.runner.execute_notebook` writes its stdout and stderr to a log file
beside the execution (:func:`quiet_kernel_manager`): its start-up warnings, and the tracebacks of a
kernel shut down in the middle of a cell (``zmq.error.ZMQError … Socket operation on non-socket``),
are not the reader's. When Ctrl-C or a time limit (SIGTERM, which :mod:`g2p.cli` turns into an
exception) stops an execution, nbclient shuts the kernel down and the runner raises
:class:`RunInterrupted`, printed as one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class RunInterrupted(KeyboardInterrupt):
    """An interrupt or a time limit stopped a notebook; the message says which and what was kept."""


def quiet_kernel_manager(log: Path) -> type:
    """A kernel manager class whose kernels write their stdout and stderr to ``log``: a kernel's log
    lines and the tracebacks of a kernel shut down in the middle of a cell are not the reader's."""
    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            log.parent.mkdir(parents=True, exist_ok=True)
            with open(log, "ab") as sink:  # the kernel keeps its own descriptor
                kw.setdefault("stdout", sink)
                kw.setdefault("stderr", sink)
                await super()._async_launch_kernel(kernel_cmd, **kw)

    return QuietKernelManager
