"""The AWS Step Functions API (AWS JSON 1.0, SigV4) on the service's own port.

``protocol`` reads a request and answers it; ``sigv4`` checks signatures; ``model`` reads
botocore's service model (input checks, output shapes); ``call`` holds what handlers are
given and the error mapping; the other modules each implement a group of operations over
the one :class:`~statemachine.service.Service` the REST API uses too.
"""
