"""The built book's explorers show their recorded views in a real browser, and the selector works."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# The outer selectors (not those nested in another) with, for each, its visible panels and labels.
STATE = """
const outer = [...document.querySelectorAll('.g2p-views')].filter(v => !v.parentElement.closest('.g2p-views'));
return outer.map(v => {
  const panels = [...v.querySelectorAll(':scope > .g2p-panels > .g2p-panel')];
  const shown = panels.filter(p => getComputedStyle(p).display !== 'none');
  return {n_panels: panels.length, height: v.getBoundingClientRect().height,
          shown: shown.map(p => ({view: p.dataset.view, height: p.getBoundingClientRect().height,
                                  text: p.innerText.trim().length,
                                  images: [...p.querySelectorAll('img')].filter(i => i.naturalWidth > 0).length}))};
});
"""


@pytest.mark.parametrize("page", ["04_interpretability", "06_generate_phenotypes"])
def test_explorer_views_render_and_switch(driver, smoke_book: Path, page: str) -> None:
    from selenium.webdriver.common.by import By

    target = smoke_book / "build" / "executed" / f"{page}.html"
    assert target.is_file(), f"the book has no page {target}"
    driver.get(target.as_uri())
    selectors = driver.execute_script(STATE)
    assert selectors, f"{page}: no recorded explorer views on the page"
    for index, state in enumerate(selectors):
        assert state["height"] > 100, f"{page}: explorer {index} is {state['height']:.0f} px high"
        assert len(state["shown"]) == 1, f"{page}: {len(state['shown'])} views shown at once"
        shown = state["shown"][0]
        assert shown["height"] > 50 and (shown["text"] > 20 or shown["images"] > 0), f"{page}: empty view {shown}"
    # click the second label of the first selector: its view replaces the first
    if selectors[0]["n_panels"] > 1:
        outer = [e for e in driver.find_elements(By.CSS_SELECTOR, "div.g2p-views")
                 if not driver.execute_script("return !!arguments[0].parentElement.closest('.g2p-views')", e)][0]
        labels = outer.find_elements(By.CSS_SELECTOR, ":scope > .g2p-tabs > label")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", labels[1])
        labels[1].click()
        after = driver.execute_script(STATE)[0]["shown"]
        assert len(after) == 1 and after[0]["view"] != selectors[0]["shown"][0]["view"]
        assert after[0]["height"] > 50
