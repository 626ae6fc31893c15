"""The index on disk: a base segment of stories, their vectors and BM25 postings, and the small delta
segments that writes append (`StoryIndex` presents them as one), committed by an atomic manifest rename,
with the configuration it was built with.

    from search.collection import build_index, open_index
    build_index(["seeds"], "index")          # re-embeds only stories whose text changed
    index, embedder = open_index(Path("index"))
"""
from ._about import read_examples, suggested_examples
from ._atlas import sample_rows, timeline
from ._build import add_files, add_to_index, build_index
from ._calibration import Scale
from ._columns import Columns
from ._config import Config
from ._index_build import index_stories, with_stories, without
from ._index_files import load_index, open_index, refreshed, save_index
from ._lexical import Lexical
from ._manifest import MANIFEST
from ._merging import compact, due
from ._postings import tokenize
from ._ray_build import Cluster
from ._storage import default_index_dir
from ._story_index import StoryIndex
from ._writes import Writer

__all__ = ["MANIFEST", "Cluster", "Columns", "Config", "Lexical", "Scale", "StoryIndex", "Writer", "add_files",
           "add_to_index", "build_index", "compact", "default_index_dir", "due", "index_stories", "load_index",
           "open_index", "read_examples", "refreshed", "sample_rows", "save_index", "suggested_examples", "timeline",
           "tokenize", "with_stories", "without"]
