"""The page in the browser's language: Spanish for a Spanish browser, English otherwise (gr.I18n)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import ROOT, ask, set_date

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def test_a_spanish_browser_gets_a_spanish_page(open_page, tmp_path: Path) -> None:
    """Issue 15.5: labels, messages and errors were English only, errors named internal fields (date_from)."""
    page = open_page(locale="es-ES")
    expect(page.get_by_label("Tu pregunta")).to_be_visible()
    expect(page.get_by_label("Desde")).to_be_visible()
    ask(page, "capacitación de la policía contra el tráfico de migrantes", "es")
    expect(page.locator("#status")).to_contain_text("noticias")
    page.locator("#results .card").first.wait_for()
    page.screenshot(path=str(tmp_path / "spanish.png"))
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        shutil.copy(tmp_path / "spanish.png", ROOT / "docs" / "screenshot-es.png")
    set_date(page, "date-from", "31/12/2021")
    set_date(page, "date-to", "1 ene 2021")
    alert = page.locator("#status [role=alert]")
    expect(alert).to_contain_text("Desde")
    expect(alert).to_contain_text("Hasta")
    expect(alert).not_to_contain_text("date_")


def test_the_country_box_finds_countries_by_their_spanish_names(open_page, service) -> None:
    """Issue 15.5: the Country box found nothing for "Méx" or "Panamá" though the API accepts them."""
    page = open_page(locale="es-ES")
    box = page.locator("#country input")
    for typed, country in (("Méx", "México"), ("Panamá", "Panamá")):
        box.fill(typed)
        expect(page.get_by_role("option").filter(has_text=country).first).to_be_visible()
        box.fill("")
    ask(page, "tráfico de migrantes", "es")
    page.locator("#results .card").first.wait_for()
    box.fill("Panamá")
    page.get_by_role("option").filter(has_text="Panamá").first.click()
    panama = [s.id for s in service.index.stories if "Panama" in s.countries]
    # The filtered search replaces the cards when it answers: wait for that, not for a status that may not
    # have changed yet when the wait starts.
    page.wait_for_function("""ids => {
        const shown = [...document.querySelectorAll('#results .card')].map(e => e.dataset.id);
        return shown.length > 0 && shown.every(id => ids.includes(id));
    }""", arg=panama)
