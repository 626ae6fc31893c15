"""The JSON API: routes over `SearchService`, their request and response schemas, and the one error shape."""
from ._routes import create_api

__all__ = ["create_api"]
