"""Tests of the task invokers against real aiohttp servers and moto's SQS server."""
