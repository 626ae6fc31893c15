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
    """A Spanish reader gets labels, messages and errors in Spanish, and errors name the boxes on screen, not
    internal fields (date_from)."""
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
    """The Country box must find what the API accepts: "Méx" and "Panamá" are how a Spanish reader types them."""
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


def test_the_spanish_page_writes_dates_in_spanish_and_offers_spanish_examples_first(open_page, service) -> None:
    """The Spanish page showed "8 Nov 2021" on its cards and English example questions first."""
    page = open_page(locale="es-ES")
    first = page.locator("#examples button").first
    expect(first).to_contain_text("¿qué se hace contra la trata de personas en Belice?")
    ask(page, "tráfico de migrantes en Panamá", "es")
    page.locator("#results .card time").first.wait_for()
    times = page.locator("#results .card time").evaluate_all(
        "ts => ts.map(t => [t.getAttribute('datetime'), t.textContent])")
    months = "ene feb mar abr may jun jul ago sept oct nov dic".split()
    for iso, text in times:
        year, month, day = iso.split("-")
        assert text == f"{int(day)} {months[int(month) - 1]} {year}", (iso, text)
