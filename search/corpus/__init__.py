"""Reading stories: corpus files in every layout become `Story` records, copies merged, countries tagged.

    from search.corpus import load_corpus
    stories = load_corpus(["seeds"])        # what an index holds: one story per distinct text
"""
from .dedupe import merge_duplicates, resolve_updates
from .language import ENGLISH, SPANISH, has_content, language, majority_language
from .load import load_corpus, prepare
from .places import canonical_country, local_name, tag_countries
from .readers import FieldMap, corpus_files, json_lines, read_in_parts, read_stories
from .story import Story, id_problem, make_story
from .text import clean_text, fold, fold_accents

__all__ = ["ENGLISH", "SPANISH", "FieldMap", "Story", "canonical_country", "clean_text", "corpus_files", "fold",
           "fold_accents", "has_content", "id_problem", "json_lines", "language", "load_corpus", "local_name",
           "majority_language", "make_story", "merge_duplicates", "prepare", "read_in_parts", "read_stories",
           "resolve_updates", "tag_countries"]
