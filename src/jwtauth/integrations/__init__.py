"""Framework integrations: thin layers over the core that translate requests, responses and
errors. Each framework is an optional extra; the core never imports one. Import each adapter by
its path (``jwtauth.integrations.fastapi``, ``jwtauth.integrations.starlette``)."""

__all__: list[str] = []
