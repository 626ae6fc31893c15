"""Start the story-search server (web UI at /, JSON API under /api) on 127.0.0.1:7860."""
import sys

from search.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
