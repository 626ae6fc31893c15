"""Every word the page says, in English and Spanish, and how a request picks the language.

Labels are translated in the browser by Gradio's i18n (`I18N`, keyed by the browser's language); messages
made on the server (counts, errors) follow the request's Accept-Language, which a browser derives from the
same setting. Errors name fields as the page labels them ("From date"), never by internal names.
"""
from __future__ import annotations

from typing import Any

import gradio as gr

LANGUAGES = ("en", "es")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "question": "Your question",
        "question_hint": "Ask in your own words",
        "search": "Search",
        "examples": "Try an example",
        "browse": "Or browse the newest stories",
        "filters": "Filters",
        "country": "Country",
        "country_info": "stories about any of these",
        "date_from": "From date",
        "date_to": "To date",
        "date_info": "e.g. 1 Nov 2021, Nov 2021 or 2021-11-01",
        "k": "Number of results",
        "mode": "Match by",
        "mode_hybrid": "Meaning and words",
        "mode_dense": "Meaning only",
        "mode_lexical": "Exact words",
        "diversify": "Spread topics",
        "diversify_info": "fewer near-repeats of one initiative",
        "tab_list": "Stories",
        "tab_map": "Map",
        # server-side messages
        "stories": "{n:,} stories",
        "story": "1 story",
        "api_link": "JSON API for programs",
        "hint": "Type a question above and press Enter, or browse the newest stories.",
        "searching": "Searching…",
        "found": "{count} · {ms:.0f} ms",
        "not_answerable": "No story answers this closely; the nearest stories are shown.",
        "unmentioned": "No story mentions {names}.",
        "match_strong": "strong match",
        "match_partial": "partial match",
        "match_weak": "weak match",
        "match_hint": "relevance {score:.2f} of 1, on this collection's own scale: 0 is what unrelated questions "
                      "score here, 1 what a story's own title scores",
        "no_match": "No stories match these filters; widen the dates or clear the country.",
        "none_found": "No stories found.",
        "undated": "{n:,} undated stories are left out by the date filter.",
        "undated_one": "1 undated story is left out by the date filter.",
        "too_long": "Your question is {n:,} characters long; the limit is {limit:,}. Shorten it and search again.",
        "date_unreadable": "{field}: “{typed}” is not a date this page can read; type e.g. 1 Nov 2021, Nov 2021 "
                           "or 2021-11-01.",
        "date_not_a_day": "{field}: “{typed}” is not a real day.",
        "date_order": "{first} ({a}) is after {second} ({b}).",
        "broken": "Something went wrong on the server; please try again.",
        "related_hint": "Choose “Related stories” on any result, or a point on the map.",
        "related_loading": "Loading related stories…",
        "related_to": "Related to",
        "related_none": "No other stories are close to this one.",
        "related_button": "Related stories",
        "related_for": "Related stories for: {title}",
        "untitled": "(untitled)",
        # the map
        "map_colour": "Colour by",
        "map_topic": "topic",
        "map_country": "country",
        "map_no_country": "no country",
        "map_all": "{n:,} stories, each a point placed by meaning; nearby points tell of similar things.",
        "map_sampled": "A sample of {shown:,} of the {n:,} stories (drawn from every topic in proportion), each "
                       "a point placed by meaning.",
        "map_timeline": "Stories by date",
        "map_undated": "{n:,} undated",
        "map_none": "This index has no map yet: rebuild it (`python -m search build --force`).",
        "map_answers": "{n} answers to “{question}” are ringed.",
        "map_nearest": "No story answers “{question}” closely; the {n} nearest are ringed.",
        "map_no_dates": "No story here has a date, so there is no timeline.",
        "map_topics_hint": "Choose a topic's name to list its stories.",
        # browsing and exporting
        "newest": "The newest stories: {shown} of {count}. Ask a question above to search them.",
        "topic_stories": "Map topic “{label}”: {shown} of its {count}, the most typical first.",
        "export": "Download these results:",
        "related_back": "Back to: {title}",
    },
    "es": {
        "question": "Tu pregunta",
        "question_hint": "Pregunta con tus propias palabras",
        "search": "Buscar",
        "examples": "Prueba un ejemplo",
        "browse": "O mira las noticias más recientes",
        "filters": "Filtros",
        "country": "País",
        "country_info": "noticias sobre cualquiera de estos",
        "date_from": "Desde",
        "date_to": "Hasta",
        "date_info": "p. ej. 1 nov 2021, nov 2021 o 01/11/2021",
        "k": "Número de resultados",
        "mode": "Buscar por",
        "mode_hybrid": "Significado y palabras",
        "mode_dense": "Solo significado",
        "mode_lexical": "Palabras exactas",
        "diversify": "Variar temas",
        "diversify_info": "menos repeticiones de una misma iniciativa",
        "tab_list": "Noticias",
        "tab_map": "Mapa",
        "stories": "{n:,} noticias",
        "story": "1 noticia",
        "api_link": "API JSON para programas",
        "hint": "Escribe una pregunta arriba y pulsa Intro, o mira las noticias más recientes.",
        "searching": "Buscando…",
        "found": "{count} · {ms:.0f} ms",
        "not_answerable": "Ninguna noticia responde de cerca; se muestran las más próximas.",
        "unmentioned": "Ninguna noticia menciona {names}.",
        "match_strong": "coincidencia fuerte",
        "match_partial": "coincidencia parcial",
        "match_weak": "coincidencia débil",
        "match_hint": "relevancia {score:.2f} de 1, en la escala de esta colección: 0 es lo que puntúan aquí las "
                      "preguntas sin relación, 1 lo que puntúa el propio título de una noticia",
        "no_match": "Ninguna noticia coincide con estos filtros; amplía las fechas o quita el país.",
        "none_found": "No se encontraron noticias.",
        "undated": "El filtro de fechas deja fuera {n:,} noticias sin fecha.",
        "undated_one": "El filtro de fechas deja fuera 1 noticia sin fecha.",
        "too_long": "Tu pregunta tiene {n:,} caracteres; el límite es {limit:,}. Acórtala y vuelve a buscar.",
        "date_unreadable": "{field}: «{typed}» no es una fecha que esta página entienda; escribe p. ej. 1 nov 2021, "
                           "nov 2021 o 01/11/2021.",
        "date_not_a_day": "{field}: «{typed}» no es un día que exista.",
        "date_order": "«{first}» ({a}) es posterior a «{second}» ({b}).",
        "broken": "Algo falló en el servidor; inténtalo de nuevo.",
        "related_hint": "Elige «Noticias relacionadas» en un resultado, o un punto del mapa.",
        "related_loading": "Cargando noticias relacionadas…",
        "related_to": "Relacionadas con",
        "related_none": "Ninguna otra noticia se parece a esta.",
        "related_button": "Noticias relacionadas",
        "related_for": "Noticias relacionadas con: {title}",
        "untitled": "(sin título)",
        "map_colour": "Colorear por",
        "map_topic": "tema",
        "map_country": "país",
        "map_no_country": "sin país",
        "map_all": "{n:,} noticias, cada una un punto situado por su significado; los puntos cercanos tratan de "
                   "cosas parecidas.",
        "map_sampled": "Una muestra de {shown:,} de las {n:,} noticias (de cada tema en proporción), cada una un "
                       "punto situado por su significado.",
        "map_timeline": "Noticias por fecha",
        "map_undated": "{n:,} sin fecha",
        "map_none": "Este índice aún no tiene mapa: reconstrúyelo (`python -m search build --force`).",
        "map_answers": "Las {n} respuestas a «{question}» van rodeadas.",
        "map_nearest": "Ninguna noticia responde de cerca a «{question}»; van rodeadas las {n} más próximas.",
        "map_no_dates": "Ninguna noticia tiene fecha: no hay línea de tiempo.",
        "map_topics_hint": "Elige el nombre de un tema para ver sus noticias.",
        "newest": "Las noticias más recientes: {shown} de {count}. Haz una pregunta arriba para buscar entre ellas.",
        "topic_stories": "Tema del mapa «{label}»: {shown} de sus {count}, las más representativas primero.",
        "export": "Descargar estos resultados:",
        "related_back": "Volver a: {title}",
    },
}
# Labels the browser translates: Gradio's i18n over the same table.
I18N = gr.I18n(**TEXTS)


def language(request: gr.Request | None) -> str:
    """The first of the request's Accept-Language tags that the page speaks; English otherwise."""
    header = (request.headers.get("accept-language", "") if request is not None else "") or ""
    for part in header.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag[:2] in LANGUAGES:
            return tag[:2]
    return "en"


def month_first(request: gr.Request | None) -> bool:
    """Whether all-number dates read month first (1/12/2021 as 12 January): for US English browsers only."""
    header = (request.headers.get("accept-language", "") if request is not None else "") or ""
    return header.split(",")[0].split(";")[0].strip().lower() == "en-us"


def say(lang: str, key: str, **values: Any) -> str:
    """A message in `lang`, with `values` filled in."""
    return TEXTS.get(lang, TEXTS["en"])[key].format(**values)


def count(lang: str, n: int) -> str:
    """"1 story", "12 stories" (or "1 noticia", "12 noticias")."""
    return say(lang, "story") if n == 1 else say(lang, "stories", n=n)
