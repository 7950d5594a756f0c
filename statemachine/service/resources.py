"""What the catalog's operations share: reading ARNs of this service, paging tokens, and
the checks AWS makes of tags, routing and configurations (errors with AWS's codes).

Paging follows AWS: ``maxResults`` 0 or absent means :data:`DEFAULT_PAGE`, at most
:data:`MAX_PAGE`; ``nextToken`` is opaque (here: the kind of listing and the last key given,
base64url), and one that this listing did not give is ``InvalidToken``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson

from statemachine.errors import InputError, NotFound
from statemachine.interpreter.execution_log import OFF, LoggingConfiguration, LogLevel
from statemachine.language import arns
from statemachine.language.arns import ActivityArn, Arn, MachineArn, Place
from statemachine.language.queues import QUEUE_TAG, queue_problem

__all__ = ["DEFAULT_PAGE", "LOG_GROUP", "MAX_ALIASES", "MAX_PAGE", "MAX_TAGS", "MAX_VERSIONS",
           "check_description", "logging_config", "machine_arn", "not_found", "page",
           "parse_arn", "role_arn", "tag_keys", "tag_map", "tag_target", "too_many_tags",
           "tracing_config", "validation"]

MAX_VERSIONS = 1000
"""Published versions a state machine may have (AWS's quota)."""
MAX_ALIASES = 100
"""Aliases a state machine may have (AWS's quota)."""
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
MAX_DESCRIPTION = 256
DEFAULT_PAGE = 100
MAX_PAGE = 1000
LOG_LEVELS = tuple(LogLevel)
_LOGGING_FIELDS = frozenset({"level", "includeExecutionData", "destinations"})
LOG_GROUP = re.compile(r"arn:aws[a-z-]*:logs:[a-z0-9-]+:[0-9]{12}:log-group:[A-Za-z0-9_./#-]{1,512}:\*")
_ROLE = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}")

T = TypeVar("T")


def validation(message: str) -> InputError:
    return InputError(message, "ValidationException")


def parse_arn(arn: Any, place: Place) -> Arn:
    """An ARN of this service's region and account, else ``InvalidArn``."""
    try:
        parsed = arns.parse(arn)
    except arns.InvalidArn as bad:
        raise InputError(str(bad), "InvalidArn") from None
    if parsed.place != place:
        raise InputError(f"Invalid Arn: '{arn}': this service is {place.region}/{place.account}",
                         "InvalidArn")
    return parsed


def machine_arn(arn: Any, place: Place, *, qualified: bool | None = False) -> MachineArn:
    """A state machine ARN (``qualified``: False the machine itself, True a version or an
    alias, None either), else ``InvalidArn``/``ValidationException``."""
    parsed = parse_arn(arn, place)
    if not isinstance(parsed, MachineArn):
        raise InputError(f"Invalid Arn: '{arn}' is not a state machine ARN", "InvalidArn")
    has_qualifier = parsed.version is not None or parsed.alias is not None
    if qualified is False and has_qualifier:
        raise validation(f"'{arn}' is a version or alias ARN: this operation takes the state "
                         "machine's own ARN")
    if qualified is True and not has_qualifier:
        raise validation(f"'{arn}' is not a version or alias ARN")
    return parsed


def role_arn(arn: Any) -> str:
    if not isinstance(arn, str) or not _ROLE.fullmatch(arn):
        raise InputError(f"Invalid Arn: '{arn}' is not an IAM role ARN", "InvalidArn")
    return arn


def check_description(text: Any, what: str = "description") -> str | None:
    if text is None:
        return None
    if not isinstance(text, str) or len(text) > MAX_DESCRIPTION:
        raise validation(f"{what} must be a string of at most {MAX_DESCRIPTION} characters")
    return text


def logging_config(config: Any, *, need_destination: bool = True) -> dict[str, Any]:
    """A loggingConfiguration as describe returns it (default: level OFF), checked as AWS
    checks it (``InvalidLoggingConfiguration``): a known level, a boolean
    includeExecutionData, at most one destination, a CloudWatch Logs log group ARN ending
    with ``:*``; a level other than OFF needs a destination unless ``need_destination`` is
    False (the REST API's: this service writes the log itself)."""
    if config is None:
        return OFF.shape()
    if not isinstance(config, dict) or not set(config) <= _LOGGING_FIELDS:
        raise _bad_logging(f"loggingConfiguration must be an object of "
                           f"{', '.join(sorted(_LOGGING_FIELDS))}")
    level = config.get("level", LogLevel.OFF)
    if level not in LOG_LEVELS:
        raise _bad_logging(f"loggingConfiguration.level must be one of {', '.join(LOG_LEVELS)}")
    include = config.get("includeExecutionData", False)
    if not isinstance(include, bool):
        raise _bad_logging("loggingConfiguration.includeExecutionData must be true or false")
    destinations = config.get("destinations", [])
    if not isinstance(destinations, list) or len(destinations) > 1:
        raise _bad_logging("loggingConfiguration.destinations takes at most one destination")
    for destination in destinations:
        if not _log_group(destination):
            raise _bad_logging("a loggingConfiguration destination is {\"cloudWatchLogsLogGroup\": "
                               "{\"logGroupArn\": \"arn:aws:logs:<region>:<account>:log-group:"
                               "<name>:*\"}}")
    if level != LogLevel.OFF and not destinations and need_destination:
        raise _bad_logging("a loggingConfiguration level other than OFF needs a destination")
    return LoggingConfiguration(LogLevel(level), include, tuple(destinations)).shape()


def _log_group(destination: Any) -> bool:
    """Whether ``destination`` is ``{"cloudWatchLogsLogGroup": {"logGroupArn": ...:*}}``."""
    if not isinstance(destination, dict) or set(destination) != {"cloudWatchLogsLogGroup"}:
        return False
    group = destination["cloudWatchLogsLogGroup"]
    return (isinstance(group, dict) and set(group) == {"logGroupArn"}
            and isinstance(group["logGroupArn"], str)
            and LOG_GROUP.fullmatch(group["logGroupArn"]) is not None)


def _bad_logging(message: str) -> InputError:
    return InputError(message, "InvalidLoggingConfiguration")


def tracing_config(config: Any) -> dict[str, Any]:
    if config is None:
        return {"enabled": False}
    if not isinstance(config, dict):
        raise InputError("tracingConfiguration must be an object", "InvalidTracingConfiguration")
    return {"enabled": bool(config.get("enabled"))}


def tag_map(tags: Any) -> dict[str, str]:
    """AWS's ``[{"key", "value"}]`` as a dict, checked (TooManyTags past :data:`MAX_TAGS`)."""
    if tags is None:
        return {}
    if not isinstance(tags, list):
        raise validation("tags must be a list of {key, value}")
    found: dict[str, str] = {}
    for tag in tags:
        if not isinstance(tag, dict):
            raise validation("each tag must be an object {key, value}")
        key, value = tag.get("key"), tag.get("value", "")
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_TAG_KEY:
            raise validation(f"a tag key must be 1 to {MAX_TAG_KEY} characters")
        if key.lower().startswith("aws:"):
            raise validation("tag keys starting with 'aws:' are reserved")
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
            raise validation(f"a tag value must be a string of at most {MAX_TAG_VALUE} characters")
        if key == QUEUE_TAG and (problem := queue_problem(value)):  # a machine's queue
            raise validation(f"tag {QUEUE_TAG}: {problem}")
        found[key] = value
    if len(found) > MAX_TAGS:
        raise too_many_tags()
    return found


def tag_keys(keys: Any) -> list[str]:
    if not isinstance(keys, list) or not all(isinstance(k, str) and 1 <= len(k) <= MAX_TAG_KEY
                                             for k in keys):
        raise validation(f"tagKeys must be a list of keys of 1 to {MAX_TAG_KEY} characters")
    return list(keys)


def too_many_tags() -> InputError:
    return InputError(f"a resource may have at most {MAX_TAGS} tags", "TooManyTags")


def tag_target(arn: Any, place: Place) -> tuple[str, str]:
    """(kind, name) of a taggable resource: "m" a state machine, "a" an activity."""
    parsed = parse_arn(arn, place)
    if isinstance(parsed, MachineArn) and parsed.version is None and parsed.alias is None:
        return "m", parsed.name
    if isinstance(parsed, ActivityArn):
        return "a", parsed.name
    raise InputError(f"Invalid Arn: '{arn}': only state machines and activities have tags",
                     "InvalidArn")


def not_found(arn: str) -> NotFound:
    return NotFound(f"Resource not found: '{arn}'", "ResourceNotFound")


def page(items: Sequence[T], key: Callable[[T], Any], kind: str, max_results: Any,
         token: Any) -> tuple[list[T], str | None]:
    """One page of ``items`` (already in listing order, ``key`` unique): those after the
    token's key, and the token of the next page (None: this was the last)."""
    size = DEFAULT_PAGE if not max_results else max_results
    if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_PAGE:
        raise validation(f"maxResults must be an integer from 0 to {MAX_PAGE}")
    start = 0
    if token is not None:
        after = _read_token(token, kind)
        keys = [orjson.loads(orjson.dumps(key(item))) for item in items]
        start = next((i + 1 for i, k in enumerate(keys) if k == after), -1)
        if start < 0:  # the item was deleted since: go on from where it would have been
            start = sum(1 for k in keys if _before(k, after, keys))
    chosen = list(items[start:start + size])
    more = start + size < len(items)
    return chosen, _token(kind, key(chosen[-1])) if more and chosen else None


def _before(k: Any, after: Any, keys: list[Any]) -> bool:
    """Whether ``k`` comes before ``after`` in the listing's order (ascending or not)."""
    ascending = len(keys) < 2 or keys[0] <= keys[-1]
    return bool(k <= after) if ascending else bool(k >= after)


def _token(kind: str, key: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([kind, key])).decode()


def _read_token(token: Any, kind: str) -> Any:
    try:
        got_kind, after = orjson.loads(base64.urlsafe_b64decode(str(token).encode()))
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        got_kind, after = None, None
    if got_kind != kind:
        raise InputError("Invalid Token: the nextToken was not given by this listing",
                         "InvalidToken")
    return after
