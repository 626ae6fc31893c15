"""The index on disk: stories, their vectors and BM25 as one unit (`StoryIndex`), saved as checksummed
generations committed by an atomic manifest rename, with the configuration it was built with.

    from search.collection import build_index, open_index
    build_index(["seeds"], "index")          # re-embeds only stories whose text changed
    index, embedder = open_index(Path("index"))
"""
from .about import read_examples
from .atlas import Atlas
from .build import add_cache_dir, add_to_index, build_index, commit
from .columns import Columns
from .config import Config
from .edits import Edits
from .lexical import LexicalIndex, tokenize
from .storage import default_index_dir, read_manifest
from .story_index import StoryIndex, open_index

__all__ = ["Atlas", "Columns", "Config", "Edits", "LexicalIndex", "StoryIndex", "add_cache_dir", "add_to_index", "build_index",
           "commit", "default_index_dir", "open_index", "read_examples", "read_manifest", "tokenize"]
