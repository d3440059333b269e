"""The concept-intervention explorer is live in JupyterLab: start a server on 127.0.0.1, open a notebook,
run it, switch a concept and pick another gene, and check that the phenotype table changes each time.

The notebook builds the explorer on a small hand-made bottleneck (no trained model needed); the
server gets a private config/runtime folder, a random token and a free port, and is stopped (its
whole process group) however the test ends. Bounded by timeouts at every wait.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

EXPLORER_CELL = """
import numpy as np, pandas as pd, scipy.sparse as sp
from g2p.genepheno.bottleneck import Bottleneck
from g2p.genepheno.widgets import ConceptExplorer

rng = np.random.default_rng(0)
n_genes, n_terms, n_concepts = 3, 12, 5
bottleneck = Bottleneck(
    genes=pd.DataFrame({"gene_id": [f"G{g}" for g in range(n_genes)], "symbol": ["Abc1", "Def2", "Ghi3"]}),
    terms=pd.DataFrame({"term_id": [f"T{j}" for j in range(n_terms)], "name": [f"phenotype {j}" for j in range(n_terms)]}),
    concepts=pd.DataFrame({"go_id": [f"GO:{k}" for k in range(n_concepts)], "name": [f"concept {k}" for k in range(n_concepts)],
                           "namespace": ["biological_process"] * n_concepts}),
    weights=rng.normal(0, 2, (n_terms, n_concepts)), concept_logits=rng.normal(0, 2, (n_genes, n_concepts)),
    base_logits=np.zeros((n_genes, n_terms)), labels=sp.csr_matrix((rng.random((n_genes, n_terms)) < 0.3) * 1.0),
    concept_labels=sp.csr_matrix((rng.random((n_genes, n_concepts)) < 0.5) * 1.0))
ConceptExplorer(bottleneck, [0, 1, 2], n_concepts=3, top_k=6)
"""

TABLE = "#g2p-concept-explorer-table"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except RuntimeError:
            raise
        except Exception:  # the page or server is not there yet
            value = None
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[str]:
    """A JupyterLab server on 127.0.0.1 serving ``tmp_path/work``; yields its base URL with token."""
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(EXPLORER_CELL.strip())])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, work / "explorer.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "IPYTHONDIR": str(tmp_path / "ipython"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--port-retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
               "--LabApp.expose_app_in_browser=True",
               # nothing leaves the machine: no extension-manager, news or update look-ups
               "--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI and these machines run as root
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def answers() -> bool:
            if server.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({server.returncode}): {(tmp_path / 'lab.log').read_text()[-1500:]}")
            return urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5).status == 200

        _wait(answers, 90, "the JupyterLab server to answer")
        yield f"{base}/lab/tree/explorer.ipynb?token={token}"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the server and the kernels it started
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(10)
        log.close()
        if sys.exc_info()[0] is not None:
            print((tmp_path / "lab.log").read_text()[-3000:])


def test_explorer_output_changes_when_a_control_changes(driver, lab: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    started = time.monotonic()
    driver.get(lab)
    kernel_ready = ("const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                    "return !!(w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
                    " && w.sessionContext.session.kernel.status === 'idle' && w.content && w.content.widgets.length);")
    _wait(lambda: driver.execute_script(kernel_ready), 120, "the notebook to open with an idle kernel")
    driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    table = _wait(lambda: driver.find_element(By.CSS_SELECTOR, TABLE), 120, "the explorer's table")
    first = _wait(lambda: table.text.strip(), 10, "the table's text")
    assert "phenotype" in first

    # switch the first concept off (or on, if it is already off in the table): the scores change
    off = _wait(lambda: [b for b in driver.find_elements(By.CSS_SELECTOR, ".widget-toggle-buttons button")
                         if b.text.strip() == "off"], 30, "the concept switches")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", off[0])
    off[0].click()
    switched = _wait(lambda: (t := driver.find_element(By.CSS_SELECTOR, TABLE).text.strip()) != first and t, 30,
                     "the table to change after switching a concept off")
    assert "Moved most" in switched

    # another gene: a different table again
    select = Select(driver.find_element(By.CSS_SELECTOR, ".widget-dropdown select"))
    select.select_by_index(1)
    _wait(lambda: (t := driver.find_element(By.CSS_SELECTOR, TABLE).text.strip()) not in (first, switched) and t, 30,
          "the table to change after picking another gene")
    print(f"JupyterLab explorer check took {time.monotonic() - started:.1f} s after the server started")
