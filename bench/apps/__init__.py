"""ASGI apps that `bench.server` runs under uvicorn, one process at a time."""
