"""The page's address and the browser's own controls: a search's link, the way back, where the page scrolls.

The address carries the question, the filters and the mode (`?q=...&country=...&date_from=...&mode=...`, the
names the JSON API takes), kept in step with what the page shows, so it can be bookmarked or sent and opens on
the same search. The related-stories panel behaves as a layer over the page: Escape and the browser's back
button close it. On a phone, a search's results are scrolled into view.
"""
from __future__ import annotations

from typing import Any

from ...retrieval import Filters

DEFAULT_K, DEFAULT_MODE = 10, "hybrid"


def deep_link(question: str, filters: Filters, k: int, mode: str, diversify: bool) -> dict[str, Any]:
    """A search's parameters as the JSON API (and the page's address) name them; defaults are left out."""
    params: dict[str, Any] = {"q": question.strip()}
    if filters.countries:
        params["country"] = list(filters.countries)
    if filters.date_from:
        params["date_from"] = filters.date_from
    if filters.date_to:
        params["date_to"] = filters.date_to
    if k != DEFAULT_K:
        params["k"] = k
    if mode != DEFAULT_MODE:
        params["mode"] = mode
    if diversify:
        params["diversify"] = "true"
    return params


# Run with the form's values (question, countries, the two date boxes as typed, k, mode, diversify).
DEEP_LINK_JS = f"""(q, countries, from, to, k, mode, diversify) => {{
  const p = new URLSearchParams();
  if (q && q.trim()) p.set('q', q.trim());
  for (const c of countries || []) p.append('country', c);
  if (from && from.trim()) p.set('date_from', from.trim());
  if (to && to.trim()) p.set('date_to', to.trim());
  if (k && Number(k) !== {DEFAULT_K}) p.set('k', String(k));
  if (mode && mode !== '{DEFAULT_MODE}') p.set('mode', mode);
  if (diversify) p.set('diversify', 'true');
  const query = p.toString();
  history.replaceState(history.state, '', location.pathname + (query ? '?' + query : ''));
}}"""

# Once, when the page is ready: opening the panel adds a step to the browser's history, so back closes it;
# Escape closes it too; closing it otherwise takes that step back out.
PANEL_JS = """() => {
  const panel = document.getElementById('related-panel');
  if (!panel || panel.dataset.wired) return;
  panel.dataset.wired = 'true';
  const isOpen = () => panel.classList.contains('open');
  const close = () => { if (isOpen()) panel.querySelector('.toggle-button')?.click(); };
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && isOpen()) { event.preventDefault(); close(); }
  });
  let wasOpen = isOpen();
  new MutationObserver(() => {
    const open = isOpen();
    if (open && !wasOpen) history.pushState({relatedPanel: true}, '');
    if (!open && wasOpen && history.state && history.state.relatedPanel) history.back();
    wasOpen = open;
  }).observe(panel, {attributes: true, attributeFilter: ['class']});
  window.addEventListener('popstate', close);
}"""

# After a search on a phone, the filters and the map sit above the results: bring the answer into view.
SCROLL_TO_RESULTS_JS = """() => {
  if (window.innerWidth <= 720) document.getElementById('status')?.scrollIntoView({block: 'start'});
}"""
