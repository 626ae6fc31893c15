"""The JSON API: routes over `SearchService`, their request and response schemas, and the one error shape
(which the rest of the server's request policy answers with too)."""
from ._errors import BodyLimit, error_response, http_error, read_body, replaying
from ._routes import create_api
from ._schemas import HitOut, SearchOut

__all__ = ["BodyLimit", "HitOut", "SearchOut", "create_api", "error_response", "http_error", "read_body", "replaying"]
