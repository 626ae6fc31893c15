"""Reading stories: corpus files in every layout become `Story` records, copies merged, countries tagged.

    from search.corpus import load_corpus
    stories = load_corpus(["seeds"])        # what an index holds: one story per distinct text
"""
from .dedupe import merge_duplicates, resolve_updates
from .load import load_corpus, prepare
from .places import canonical_country, local_name, tag_countries
from .readers import FieldMap, read_stories
from .story import Story, id_problem, make_story
from .text import clean_text, fold, fold_accents

__all__ = ["FieldMap", "Story", "canonical_country", "clean_text", "fold", "fold_accents", "id_problem",
           "load_corpus", "local_name", "make_story", "merge_duplicates", "prepare", "read_stories",
           "resolve_updates", "tag_countries"]
