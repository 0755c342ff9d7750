"""The clinic service: API, web viewer, persistent job queue, storage, access control, audit.

``create_app(settings)`` builds the FastAPI application; ``ecglens serve`` runs it.
"""

from ecglens.serve.settings import Settings

__all__ = ["Settings"]
