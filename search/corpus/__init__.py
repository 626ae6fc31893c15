"""Reading stories: corpus files in every layout become `Story` records, copies merged, countries tagged.

    from search.corpus import load_corpus
    stories = load_corpus(["seeds"])        # what an index holds: one story per distinct text
"""
from ._dedupe import resolve_updates
from ._language import ENGLISH, has_content, language, majority_language
from ._load import load_corpus, prepare
from ._places import canonical_country, local_name, tag_countries
from ._readers import FieldMap, corpus_files, json_lines, read_in_parts, read_stories
from ._story import Story, id_problem, make_story
from ._text import clean_text, fold, fold_accents

__all__ = ["ENGLISH", "FieldMap", "Story", "canonical_country", "clean_text", "corpus_files", "fold", "fold_accents",
           "has_content", "id_problem", "json_lines", "language", "load_corpus", "local_name", "majority_language",
           "make_story", "prepare", "read_in_parts", "read_stories", "resolve_updates", "tag_countries"]
