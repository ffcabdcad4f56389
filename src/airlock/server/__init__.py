"""The REST server: FastAPI on uvicorn, versioned under ``/v1``, with the seeds' ``/api/llm`` API."""

from airlock.server.app import create_app, serve

__all__ = ["create_app", "serve"]
