"""The server's routers, one per area of the HTTP contract."""

__all__: list[str] = []
