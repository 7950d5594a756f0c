"""The REST API (aiohttp): ``create_app(service)`` and the routes, errors and OpenAPI behind it."""

from statemachine.api.app import create_app

__all__ = ["create_app"]
