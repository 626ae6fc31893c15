"""The web UI's look: a Gradio theme and the CSS for the cards (Gradio 6 takes both at mount time).

Kept in Python rather than a .css file so an installed package always carries it. System fonts only:
the page must render offline and without fetching anything from a font CDN.
"""
from __future__ import annotations

import gradio as gr

FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]


def theme() -> gr.themes.Base:
    return gr.themes.Soft(primary_hue="blue", neutral_hue="slate", radius_size="md", font=FONTS,
                          font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])


CSS = """
.masthead { padding: 8px 0 4px; }
.masthead h1 { font-size: 1.9rem; font-weight: 700; letter-spacing: -0.01em; margin: 0 0 4px; }
.masthead p { color: var(--body-text-color-subdued); margin: 0; font-size: 1rem; }
.masthead a { color: var(--color-accent); }
#question textarea, #question input { font-size: 1.1rem; }
.filters-title { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.06em; margin: 4px 0 0;
                 color: var(--body-text-color-subdued); }
.status { padding: 8px 12px; border-radius: 8px; font-size: 0.95rem; margin: 2px 0; }
.status-info { color: var(--body-text-color-subdued); padding-left: 2px; }
.status-warn { background: #fff7e6; color: #7a4b00; border: 1px solid #f3d19c; }
.status-error { background: #fdecec; color: #8a1c1c; border: 1px solid #f2b8b8; }
.status-note { color: var(--body-text-color-subdued); padding: 2px 2px; font-size: 0.9rem; }
.related-opening { font-size: 0.95rem; line-height: 1.5; margin: 6px 0 14px; }
.atlas-bar-top { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 8px; align-items: baseline; }
.atlas-caption { margin: 4px 0; color: var(--body-text-color-subdued); font-size: 0.92rem; }
.atlas-colour { border: 0; padding: 0; margin: 0; display: flex; gap: 12px; font-size: 0.9rem; }
.atlas-colour legend { float: left; margin-right: 8px; color: var(--body-text-color-subdued); }
.atlas-body { display: flex; gap: 16px; align-items: stretch; }
.atlas-plot { position: relative; flex: 1 1 auto; min-width: 0; height: 560px; }
.atlas-plot canvas { position: absolute; inset: 0; }
.atlas-labels { position: absolute; inset: 0; pointer-events: none; }
.atlas .atlas-labels .atlas-topic {
  position: absolute; margin: 0; transition: none; font: inherit; font-size: 0.75rem; font-weight: 600;
  line-height: 1.3; background: rgba(255, 255, 255, 0.88); border: 0; border-left: 3px solid; padding: 1px 5px;
  border-radius: 3px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; color: #1f2937;
  pointer-events: auto; cursor: pointer;
}
.atlas .atlas-labels .atlas-topic:hover, .atlas .atlas-labels .atlas-topic:focus-visible {
  background: #fff; outline: 1px solid var(--color-accent);
}
.atlas-tip { position: absolute; max-width: 320px; background: #111827; color: #fff; font-size: 0.85rem;
             padding: 6px 8px; border-radius: 6px; pointer-events: none; z-index: 2; }
.atlas-timeline { flex: 0 0 210px; max-height: 560px; overflow-y: auto; font-size: 0.8rem; }
.atlas-timeline h3 { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.06em; margin: 0 0 6px;
                     color: var(--body-text-color-subdued); }
.atlas-bar { display: grid; grid-template-columns: 72px 1fr 40px; gap: 6px; align-items: center; padding: 1px 0;
             cursor: default; }
.atlas-bar:hover { background: var(--color-accent-soft); }
.atlas-bar .track i { display: block; height: 10px; background: var(--color-accent); border-radius: 2px;
                      min-width: 1px; }
.atlas-bar .n { text-align: right; font-variant-numeric: tabular-nums; }
.atlas-undated { color: var(--body-text-color-subdued); margin: 8px 0 0; }
.atlas-note { font-size: 0.9rem; margin: 6px 0; }
.atlas-legend { display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 0.82rem; }
.atlas-key i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
.atlas .atlas-legend .atlas-key-topic {
  margin: 0; box-shadow: none; font: inherit; font-size: 0.82rem; background: none; border: 0; padding: 2px 0;
  cursor: pointer; color: inherit; text-align: left;
}
.atlas .atlas-legend .atlas-key-topic:hover { text-decoration: underline; }
.export { font-size: 0.88rem; margin: 2px 2px 8px; color: var(--body-text-color-subdued); }
.export a { color: var(--color-accent); }
.back-btn { margin: 0 0 10px; }
.cards { display: flex; flex-direction: column; gap: 12px; list-style: none; margin: 0; padding: 0; }
.cards > li { margin: 0; padding: 0; }
.card { border: 1px solid var(--border-color-primary); border-radius: 12px; padding: 14px 16px;
        background: var(--background-fill-primary); box-shadow: 0 1px 2px rgba(15, 23, 42, 0.04); }
.card:hover { border-color: var(--color-accent-soft); box-shadow: 0 2px 8px rgba(15, 23, 42, 0.08); }
.card-title { font-size: 1.08rem; line-height: 1.35; font-weight: 650; margin: 0 0 4px; }
.meta { font-size: 0.85rem; color: var(--body-text-color-subdued); display: flex; flex-wrap: wrap; gap: 6px; }
.meta .score { font-variant-numeric: tabular-nums; font-weight: 600; border-radius: 999px; padding: 0 8px;
               cursor: help; }
.meta .score-n { font-weight: 400; }
.match-strong { background: #dcfce7; color: #166534; }
.match-partial { background: #fef3c7; color: #92400e; }
.match-weak { background: #f1f5f9; color: #475569; }
.snippet { margin: 8px 0 10px; line-height: 1.55; font-size: 0.97rem; }
.snippet mark { background: #fde68a; color: inherit; padding: 0 2px; border-radius: 3px; }
.related-btn { font: inherit; font-size: 0.88rem; font-weight: 600; color: var(--color-accent);
               background: transparent; border: 1px solid var(--color-accent-soft); border-radius: 999px;
               padding: 4px 12px; cursor: pointer; }
.related-btn:hover { background: var(--color-accent-soft); }
.related-btn:focus-visible { outline: 2px solid var(--color-accent); outline-offset: 2px; }
.related-kicker { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.06em; margin: 0;
                  color: var(--body-text-color-subdued); }
.related-title { font-size: 1.1rem; line-height: 1.35; margin: 2px 0 12px; }
#related .card { padding: 12px; }
#question textarea { max-height: 8.5em; overflow-y: auto; }
@media (max-width: 720px) {
  .masthead h1 { font-size: 1.5rem; }
  #layout { flex-direction: column; }
  #filters { order: -1; }  /* folded above the results, not below all of them */
  .card { padding: 12px; }
  .atlas-body { flex-direction: column; }
  .atlas-plot { height: 360px; }
  .atlas-timeline { flex-basis: auto; max-height: none; overflow: visible; }
}
"""
