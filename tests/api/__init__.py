"""Tests of the REST API and the command line, against a real redis-server, Service and Worker.

Fixtures are in ``conftest.py``; ``client.py`` is the client the tests drive the API with,
``contract.py`` checks answers against the OpenAPI document, ``samples.py`` holds the
definitions several tests send.
"""
