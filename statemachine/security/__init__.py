"""Who may do what, and how secrets are kept: roles of API keys and the secret box.

This layer imports nothing else of the package: the runtime (connections, decrypted by the
invokers), the service and the API all build on it.
"""
