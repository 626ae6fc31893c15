"""The index on disk: a base segment of stories, their vectors and BM25 postings, and the small delta
segments that writes append (`StoryIndex` presents them as one), committed by an atomic manifest rename,
with the configuration it was built with.

    from search.collection import build_index, open_index
    build_index(["seeds"], "index")          # re-embeds only stories whose text changed
    index, embedder = open_index(Path("index"))
"""
from .about import read_examples, suggested_examples
from .atlas import Atlas, sample_rows, timeline
from .build import add_files, add_to_index, build_index
from .calibration import Scale
from .columns import Columns
from .config import Config
from .edits import Edits
from .lexical import Lexical, tokenize
from .manifest import MANIFEST
from .merging import compact, due
from .ray_build import Cluster
from .storage import default_index_dir, writer_lock
from .story_index import StoryIndex, open_index
from .writes import Writer

__all__ = ["MANIFEST", "Atlas", "Cluster", "Columns", "Config", "Edits", "Lexical", "Scale", "StoryIndex", "Writer",
           "add_files", "add_to_index", "build_index", "compact", "default_index_dir", "due", "open_index",
           "read_examples", "sample_rows", "suggested_examples", "timeline", "tokenize", "writer_lock"]
