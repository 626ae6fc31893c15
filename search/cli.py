"""Command line: `python -m search ...` and the `story-search` script; thin wrappers over the service.

`--json` prints one JSON object on stdout; progress and logs go to stderr, so output can be piped.
Every failure prints one `error:` line and exits 1 (2 for usage errors, as argparse does): the package's
own errors say what to do, and so do the operating system's (a full disk, a folder that cannot be written).
"""
from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import _bounded_json
from ._console import GroupedWarnings
from .collection import default_index_dir
from .corpus import FieldMap
from .errors import StorySearchError
from .retrieval import MODES
from .vectorstore import INDEX_TYPES

__all__ = ["main"]  # the console script and `python -m search`; the rest is how main does its work


def _field_map(spec: str) -> FieldMap:
    """--fields parsed by argparse, so a bad mapping is a usage error (exit 2), not a traceback."""
    try:
        return FieldMap.parse(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _json_object(text: str) -> dict[str, Any]:
    """--index-params parsed by argparse, so bad JSON is a usage error (exit 2), not a traceback."""
    try:
        value = _bounded_json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, e.g. '{\"nprobe\": 32}'")
    return value


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index-dir", type=Path, default=None,
                        help="index folder (default: $STORY_SEARCH_INDEX, else index/)")
    common.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    fields = argparse.ArgumentParser(add_help=False)
    fields.add_argument("--fields", type=_field_map, default=FieldMap(), metavar="PART=NAME,...",
                        help="JSONL/CSV field names, e.g. title=headline,body=article (alternatives with |)")

    parser = argparse.ArgumentParser(prog="story-search", description="Semantic search over news stories.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("build", parents=[common, as_json, fields], help="(re)build the index from corpus files")
    p.add_argument("--corpus", nargs="+", default=["seeds"], metavar="PATH", help="files or folders (default: seeds/)")
    p.add_argument("--model", default=None, help="model name or path (default: the index's model, else the default)")
    p.add_argument("--force", action="store_true", help="rebuild even when the index is up to date")
    p.add_argument("--discard-edits", action="store_true",
                   help="drop the stories that add or the API added, updated or deleted since the last build")
    p.add_argument("--index-type", choices=INDEX_TYPES, default=None,
                   help="vector engine (default: the existing index's, else auto: exact, then IVF past 50k stories)")
    p.add_argument("--index-params", type=_json_object, default=None, metavar="JSON",
                   help='engine parameters, e.g. \'{"nprobe": 32, "sq8": true}\' or Milvus\'s \'{"uri": "http://host:19530"}\'')
    p.add_argument("--name", default=None, help="what the page calls the collection (default: the corpus folder's "
                   "collection.json, else the index's, else the folder's name)")
    p.add_argument("--description", default=None, help="a line about the collection, shown under its name")
    p.add_argument("--no-map", dest="laid_out", action="store_false", default=None,
                   help="build no map of the collection (the map view; kept by later builds)")
    p.add_argument("--examples", type=Path, default=None, metavar="FILE",
                   help="example questions the page offers, one a line (default: collection.json's, else none)")
    p.add_argument("--ray", default=None, metavar="ADDRESS",
                   help="embed on a Ray cluster: its address (host:port), or auto for a private instance on this "
                        "machine (needs the [ray] extra; docs/operating.md)")
    p.add_argument("--ray-actors-per-node", type=int, default=1, metavar="N", help="encoders per Ray node (default 1)")
    p = sub.add_parser("add", parents=[common, as_json, fields], help="add or update stories in the index")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p = sub.add_parser("compact", parents=[common, as_json],
                       help="merge the segments that writes appended into a new base (servers do it by themselves)")
    p.add_argument("--deltas-only", action="store_true", help="only fold the deltas into one (cheap at any size)")
    p = sub.add_parser("query", parents=[common, as_json], help="search the stories")
    p.add_argument("text")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--mode", choices=MODES, default="hybrid")
    p.add_argument("--diversify", action="store_true", help="reorder by MMR so near-repeats of one topic spread out")
    p.add_argument("--country", action="append", default=[], help="only stories about this country (repeatable)")
    p.add_argument("--date-from", default=None, metavar="YYYY-MM-DD")
    p.add_argument("--date-to", default=None, metavar="YYYY-MM-DD")
    p = sub.add_parser("similar", parents=[common, as_json], help="stories related to a story")
    p.add_argument("story_id")
    p.add_argument("-k", type=int, default=5)
    p = sub.add_parser("eval", parents=[common, as_json], help="retrieval metrics on graded questions")
    p.add_argument("queries", nargs="?", type=Path, help="questions in the dev-set JSONL format")
    p.add_argument("--beir", type=Path, default=None, metavar="DIR", help="a BEIR folder instead")
    p.add_argument("--related", type=Path, default=None, help="also score related stories (dev_related format)")
    p.add_argument("--mode", choices=MODES, default="hybrid")
    p.add_argument("--model", default=None, help="model for the throw-away BEIR index")
    p = sub.add_parser("serve", parents=[common], help="serve the web UI and the JSON API")
    p.add_argument("--host", default=None,  # None lets serve() fall back to $STORY_SEARCH_HOST, then 127.0.0.1
                   help="address to bind (default $STORY_SEARCH_HOST, else 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=None, help="port (default $STORY_SEARCH_PORT, else 7860)")
    p.add_argument("--workers", type=int, default=None,
                   help="processes that answer (default $STORY_SEARCH_WORKERS, else one per core this process may "
                        "use); 1 serves from one process")
    return parser


def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    print(json.dumps(payload, ensure_ascii=False) if getattr(args, "json", False) else text)


def _hit_lines(hits: list[dict[str, Any]]) -> str:
    """One line a hit: its score (in words too, for a search hit), title, id and date."""
    return "\n".join(f"{i:>2}. {h['score']:.3f}{' ' + format(h['match'], '<7') if h['match'] else ''}  {h['title']}"
                     f"  [{h['id']}]{'  ' + h['date'] if h['date'] else ''}" for i, h in enumerate(hits, 1)) \
        or "(no stories)"


def _about_line(config: dict[str, Any]) -> str:
    """What the page will call the collection and offer as examples, and the options that change them."""
    examples = (f"{len(config['examples'])} example questions" if config.get("examples") else
                "no example questions (the page suggests its map's topics): give some with --examples FILE")
    return f"the page calls this collection {config.get('name', '')!r} (change it with --name \"...\"); {examples}"


def run(args: argparse.Namespace) -> None:
    root = args.index_dir or default_index_dir()
    if args.command == "build":
        from .collection import build_index, read_examples

        examples = read_examples(args.examples) if args.examples else None
        cluster = None
        if args.ray is not None:
            from .collection import Cluster

            cluster = Cluster(args.ray, args.ray_actors_per_node)
            cluster.check()
        index, manifest = build_index(args.corpus, root, args.model, fields=args.fields, progress=not args.quiet,
                                      force=args.force, discard_edits=args.discard_edits,
                                      engine=(args.index_type, args.index_params), name=args.name,
                                      description=args.description, examples=examples, laid_out=args.laid_out,
                                      cluster=cluster)
        state = "up to date" if index is None else "built"
        summary = {k: manifest[k] for k in ("story_count", "model", "index", "built_at")}
        _emit(args, {"status": state, "index_dir": str(root), **summary},
              f"index {state}: {manifest['story_count']:,} stories, model {manifest['model']['id']}, {root}/")
        if not args.quiet:
            print(_about_line(manifest.get("config", {})), file=sys.stderr)
    elif args.command == "add":
        from .collection import add_files

        index, ids = add_files(args.paths, root, fields=args.fields, progress=not args.quiet)
        _emit(args, {"status": "updated", "story_count": len(index), "ids": ids},
              f"index updated: {len(index)} stories; filed {len(ids)}: {' '.join(ids)}")
    elif args.command == "compact":
        from .collection import compact, open_index

        index = compact(Path(root), open_index(Path(root))[0], "minor" if args.deltas_only else "major")
        _emit(args, {"status": "compacted", "story_count": len(index), "segments": len(index.segments)},
              f"index compacted: {len(index)} stories in {len(index.segments)} segment(s)")
    elif args.command == "query":
        from .retrieval import Filters, SearchService
        from .serving import SearchOut

        filters = Filters(tuple(args.country), args.date_from, args.date_to)
        result = SearchOut.of(SearchService.open(root).search(args.text, args.k, args.mode, filters,
                                                              diversify=args.diversify)).model_dump(mode="json")
        names = f" (no story mentions {', '.join(result['unmentioned'])})" if result["unmentioned"] else ""
        note = "" if result["answerable"] else f"no story answers this closely{names}; the nearest stories are:\n"
        _emit(args, result, note + _hit_lines(result["hits"]))
    elif args.command == "similar":
        from .retrieval import SearchService
        from .serving import HitOut

        service = SearchService.open(root)
        hits = [HitOut.of(h).model_dump(mode="json") for h in service.related(args.story_id, args.k)]
        _emit(args, {"id": args.story_id, "title": service.story(args.story_id).title, "hits": hits}, _hit_lines(hits))
    elif args.command == "eval":
        _eval(args, root)
    elif args.command == "serve":
        from .serving import serve

        serve(index_dir=root, host=args.host, port=args.port, workers=args.workers)


def _eval(args: argparse.Namespace, root: Path) -> None:
    from .evaluation import evaluate, evaluate_beir, evaluate_related, load_questions, load_related, title_resolver
    from .retrieval import SearchService

    if args.beir:
        report = evaluate_beir(args.beir, args.model, args.mode, progress=not args.quiet)
    elif args.queries:
        questions = load_questions(args.queries)  # a mistake in either file is reported before the model loads
        related = load_related(args.related) if args.related else None
        service = SearchService.open(root)
        resolve = title_resolver(service)
        report = evaluate(service, questions, resolve, args.mode)
        if related is not None:
            report["related"] = evaluate_related(service, related, resolve)
    else:
        raise StorySearchError("give a questions file (QUERIES.jsonl) or --beir DIR")
    lines = [f"{report['questions']} questions, mode {report['mode']}, model {report['model']}",
             "overall      " + "  ".join(f"{k} {v:.3f}" for k, v in report["metrics"].items())]
    lines += [f"{c:<12} " + "  ".join(f"{k} {v:.3f}" for k, v in m.items() if k != "questions")
              for c, m in report["per_category"].items()]
    na = report["no_answer"]
    lines.append(f"no-answer    {na['flagged']}/{na['questions']} unanswerable flagged, "
                 f"{na['answerable_flagged']}/{na['answerable_questions']} answerable flagged")
    if len(na["correct"]["category"]) > 1 or len(na["correct"]["language"]) > 1:
        lines.append("decided      " + "  ".join(f"{name} {ok}" for by in na["correct"].values()
                                                 for name, ok in by.items()))
    if "related" in report:
        lines.append("related      " + "  ".join(f"{k} {v:.3f}" for k, v in report["related"]["metrics"].items()))
    _emit(args, report, "\n".join(lines))


def os_failure(exc: OSError) -> str:
    """One line for a failure the operating system reported: what failed, where, and what to do."""
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"no space left on the disk{where}; free some space there (or choose another --index-dir) and " \
               "run the command again"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"not allowed to write or read{where}: {exc.strerror}; check the folder's permissions or " \
               "choose another --index-dir"
    return f"{exc.strerror or os.strerror(exc.errno or 0) or exc}{where}"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    output = GroupedWarnings(sys.stderr)
    logging.basicConfig(level=logging.ERROR if args.quiet else logging.INFO, handlers=[output], force=True)
    try:
        run(args)
    except StorySearchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {os_failure(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        output.summarise()
        print(INTERRUPTED.get(args.command, "interrupted"), file=sys.stderr)
        return 130
    finally:
        output.summarise()
        logging.getLogger().removeHandler(output)  # a caller in the same process keeps its own logging
    return 0


_RESUMES = ("; the stories embedded so far are kept, and running the same command again resumes where this one "
            "stopped")
INTERRUPTED = {"build": "interrupted: the index on disk is unchanged" + _RESUMES,
               "add": "interrupted: the index on disk is unchanged" + _RESUMES,
               "compact": "interrupted: the index on disk is unchanged (segments are replaced only once written)"}
