"""Tests of the dashboard: the real API (redis-server, Service, Worker) driven by headless Chromium.

Fixtures are in ``conftest.py``; ``dom.py`` is a small DOM parsed from ``--dump-dom``
output, ``chromium.py`` runs Chromium once or keeps a page open over the DevTools protocol.
"""
