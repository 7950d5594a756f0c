"""AWS service calls: one client factory (:mod:`.clients`), Step Functions' names for
services and errors (:mod:`.names`), request and result shapes (:mod:`.shapes`), and the
invoker for ``aws-sdk:`` and optimised integrations (:mod:`.invoker`).  SQS's
``sqs:sendMessage`` keeps its own invoker (:mod:`..sqs`) on the same factory.
"""
