"""Stand-ins for the outside services the example workflows call (``python cli.py demo``).

The examples in ``definitions/`` talk to a payments processor, a ledger, a mailer, a
review tool, a file store and an ML platform.  This module serves small, in-memory,
believable versions of all of them from one aiohttp application, so that a new user can
run every example end to end on one machine.  Their ``${...}`` placeholders point here
through ``definitions/substitutions.env`` (see :func:`substitutions`).

What the services show:

* **Idempotency.**  Every ``POST`` is deduplicated by its ``Idempotency-Key`` header, the
  way Stripe does it: the first request with a key performs the effect and its answer is
  stored; a repeat of the same key on the same path gets the stored answer back
  (``Idempotent-Replayed: true``) and changes nothing.  A retried or re-delivered task
  therefore never charges, mails or books twice.  :attr:`DemoServices.effects` counts how
  often each key's effect was applied (at most once).
* **Failure paths**, chosen by the input: card ``tok_declined`` is declined (402), card
  ``tok_flaky`` meets a simulated outage (503) on the first attempt of each key so the
  state's Retry is visible, a ledger entry in a currency other than EUR, USD or GBP is
  refused (422) so the settlement's compensation (void) runs, and a file whose name
  contains ``corrupt`` cannot be parsed (422) so the Map's tolerated failures show.
* **Human approval.**  ``POST /reviews`` stores the task token of a waiting
  ``.waitForTaskToken`` state and prints the exact command that approves it;
  ``GET /reviews`` lists the reviews not yet decided.

One line is logged per request: method, path, key, status and the start of the answer.
"""

from __future__ import annotations

import json
import shlex
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["DEFAULT_API", "DEFAULT_PORT", "PLACEHOLDERS", "Answer", "DemoServices", "substitutions"]

DEFAULT_PORT = 8089
DEFAULT_API = "http://127.0.0.1:8080"
PLACEHOLDERS: dict[str, str] = {
    "PaymentsApi": "",
    "AuditUrl": "/audit",
    "FilesApi": "",
    "MlApi": "",
    "AccountsApi": "",
    "ReviewsApi": "",
    "MailApi": "",
    "OrdersApi": "",
}
"""Each ``${Name}`` placeholder of the examples and the path under the demo's base URL."""

LEDGER_CURRENCIES = frozenset({"EUR", "USD", "GBP"})
FILES_PER_BATCH = 12
RECORDS_PER_FILE = 3


def substitutions(base_url: str) -> dict[str, str]:
    """The ``--sub`` values that point every placeholder at demo services on ``base_url``."""
    base = base_url.rstrip("/")
    return {name: base + path for name, path in PLACEHOLDERS.items()}


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer of a demo service: a status and a JSON body."""

    status: int
    body: Any


Handler = Callable[[dict[str, Any], web.Request], Answer]


@dataclass(slots=True)
class Logged:
    """One request as the demo saw it (kept so that tests can inspect the traffic)."""

    method: str
    path: str
    key: str | None
    status: int
    replayed: bool


@dataclass
class DemoServices:
    """The in-memory state of every stand-in service, and the aiohttp app serving them.

    ``api`` is the statemachine API that approvals are sent to (only printed in the
    approval instructions); ``log`` receives one line per request.
    """

    api: str = DEFAULT_API
    log: Callable[[str], None] = print
    answers: dict[tuple[str, str], Answer] = field(default_factory=dict)
    effects: Counter[tuple[str, str]] = field(default_factory=Counter)
    requests: list[Logged] = field(default_factory=list)
    authorizations: dict[str, dict[str, Any]] = field(default_factory=dict)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    reviews: dict[str, dict[str, Any]] = field(default_factory=dict)
    mail: list[dict[str, Any]] = field(default_factory=list)
    stored_files: dict[str, int] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ids: Counter[str] = field(default_factory=Counter)
    _outage_seen: set[str] = field(default_factory=set)

    def app(self) -> web.Application:
        """The aiohttp application with every service's routes."""
        app = web.Application()
        for path, handler in self._routes().items():
            app.router.add_post(path, self._endpoint(handler))
        app.router.add_get("/reviews", self._list_reviews)
        app.router.add_get("/healthz", self._health)
        return app

    def _routes(self) -> dict[str, Handler]:
        return {
            "/payments/validate": self._validate_payment,
            "/payments/authorize": self._authorize,
            "/payments/void": self._void,
            "/ledger/entries": self._ledger_entry,
            "/notifications": self._notify,
            "/audit": self._audit,
            "/accounts": self._create_account,
            "/accounts/close": self._close_account,
            "/reviews": self._create_review,
            "/reviews/{review_id}/decision": self._decide_review,
            "/mail/{template}": self._send_mail,
            "/pricing": self._price,
            "/batches/list": self._list_batch,
            "/files/parse": self._parse_file,
            "/files/store": self._store_file,
            "/features/{kind}": self._build_features,
            "/train": self._train,
            "/evaluate": self._evaluate,
            "/models/register": self._register_model,
        }

    # -- the idempotent request cycle ---------------------------------------------------

    def _endpoint(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def endpoint(request: web.Request) -> web.Response:
            try:
                body = await request.json() if request.can_read_body else {}
            except ValueError:
                body = None
            if not isinstance(body, dict):
                refusal = Answer(400, {"error": "the body must be a JSON object"})
                return self._respond(request, None, refusal, False)
            key = request.headers.get("Idempotency-Key")
            answer, replayed = self._apply(request, key, body, handler)
            return self._respond(request, key, answer, replayed)

        return endpoint

    def _apply(self, request: web.Request, key: str | None, body: dict[str, Any],
               handler: Handler) -> tuple[Answer, bool]:
        """Run ``handler`` once per (path, key); a repeat gets the stored answer.

        No ``await`` happens between the lookup and the store, so two concurrent requests
        with one key cannot both perform the effect.  Server errors (5xx) are not stored:
        the client is expected to retry them with the same key.  The stored answer is a
        copy, so a replay shows what the first request got even after later changes (an
        authorization voided since, for instance).
        """
        slot = (request.path, key) if key else None
        if slot is not None and slot in self.answers:
            return self.answers[slot], True
        answer = handler(body, request)
        answer = Answer(answer.status, json.loads(json.dumps(answer.body)))
        if slot is not None and answer.status < 500:
            self.answers[slot] = answer
            if answer.status < 400:
                self.effects[slot] += 1
        return answer, False

    def _respond(self, request: web.Request, key: str | None, answer: Answer,
                 replayed: bool) -> web.Response:
        self.requests.append(Logged(request.method, request.path, key, answer.status, replayed))
        text = json.dumps(answer.body, separators=(",", ":"))
        self.log(f"demo: {request.method} {request.path} key={key or '-'} -> {answer.status}"
                 f"{' (replayed)' if replayed else ''} {_clip(text, 100)}")
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return web.json_response(answer.body, status=answer.status, headers=headers)

    def _next_id(self, prefix: str) -> str:
        self._ids[prefix] += 1
        return f"{prefix}_{self._ids[prefix]}"

    # -- payments: validate, authorize, void, ledger, notifications, audit ---------------

    def _validate_payment(self, body: dict[str, Any], request: web.Request) -> Answer:
        amount, currency = body.get("amount"), body.get("currency")
        if not isinstance(amount, (int, float)) or isinstance(amount, bool) or amount <= 0:
            return Answer(200, {"valid": False, "reason": "amount must be a positive number"})
        if not isinstance(currency, str) or len(currency) != 3:
            return Answer(200, {"valid": False, "reason": "currency must be an ISO 4217 code"})
        if not isinstance(body.get("cardToken"), str):
            return Answer(200, {"valid": False, "reason": "cardToken is missing"})
        return Answer(200, {"valid": True, "reason": None})

    def _authorize(self, body: dict[str, Any], request: web.Request) -> Answer:
        card = body.get("card")
        key = request.headers.get("Idempotency-Key", "")
        if card == "tok_flaky" and key not in self._outage_seen:
            self._outage_seen.add(key)
            return Answer(503, {"error": "processor_unavailable",
                                "message": "simulated outage; retry"})
        if card == "tok_declined":
            return Answer(402, {"error": "card_declined",
                                "message": "the issuer declined the card"})
        authorization_id = self._next_id("auth")
        authorization = {"authorizationId": authorization_id, "amount": body.get("amount"),
                         "currency": body.get("currency"), "status": "authorized"}
        self.authorizations[authorization_id] = authorization
        return Answer(200, authorization)

    def _void(self, body: dict[str, Any], request: web.Request) -> Answer:
        authorization = self.authorizations.get(str(body.get("authorizationId")))
        if authorization is None:
            return Answer(404, {"error": "no_such_authorization"})
        authorization["status"] = "voided"
        return Answer(200, authorization)

    def _ledger_entry(self, body: dict[str, Any], request: web.Request) -> Answer:
        currency = body.get("currency")
        if currency not in LEDGER_CURRENCIES:
            return Answer(422, {"error": "no_ledger_account",
                                "message": f"the ledger keeps no {currency} account"})
        if str(body.get("authorizationId")) not in self.authorizations:
            return Answer(422, {"error": "unknown_authorization"})
        entry = {"entryId": self._next_id("le"), **body}
        self.ledger.append(entry)
        return Answer(201, entry)

    def _notify(self, body: dict[str, Any], request: web.Request) -> Answer:
        notification = {"notificationId": self._next_id("ntf"), **body}
        self.notifications.append(notification)
        return Answer(202, notification)

    def _audit(self, body: dict[str, Any], request: web.Request) -> Answer:
        record = {"auditId": self._next_id("aud"), **body}
        self.audit.append(record)
        return Answer(201, {"auditId": record["auditId"]})

    # -- onboarding: accounts, reviews, mail -------------------------------------------

    def _create_account(self, body: dict[str, Any], request: web.Request) -> Answer:
        if not isinstance(body.get("email"), str) or "@" not in body["email"]:
            return Answer(422, {"error": "invalid_email"})
        account = {"accountId": self._next_id("acct"), "email": body["email"],
                   "name": body.get("name"), "status": "open"}
        self.accounts[account["accountId"]] = account
        return Answer(201, account)

    def _close_account(self, body: dict[str, Any], request: web.Request) -> Answer:
        account = self.accounts.get(str(body.get("accountId")))
        if account is None:
            return Answer(404, {"error": "no_such_account"})
        account.update(status="closed", reason=body.get("reason"))
        return Answer(200, account)

    def _create_review(self, body: dict[str, Any], request: web.Request) -> Answer:
        token = body.get("taskToken") or request.headers.get("X-Task-Token")
        if not isinstance(token, str) or not token:
            return Answer(422, {"error": "taskToken is missing"})
        review_id = self._next_id("rev")
        subject = {k: v for k, v in body.items() if k != "taskToken"}
        self.reviews[review_id] = {"reviewId": review_id, "taskToken": token, "subject": subject,
                                   "decided": False, "approve": self.approve_command(token)}
        self.log(f"demo: review {review_id} waits for a decision on {json.dumps(subject)}; "
                 "approve it with\n"
                 f"  {self.approve_command(token)}\n"
                 f"  (or: python cli.py demo approve {review_id}{self._api_option()})")
        return Answer(202, {"reviewId": review_id, "status": "pending"})

    def approve_command(self, token: str, approved: bool = True) -> str:
        """A ready-to-paste ``curl`` that answers the task ``token`` through the API."""
        payload = json.dumps({"taskToken": token, "output": {"approved": approved}})
        return (f"curl -s -X POST {self.api.rstrip('/')}/v1/tasks/success "
                f"-H 'Content-Type: application/json' -d {shlex.quote(payload)}")

    def _api_option(self) -> str:
        return "" if self.api == DEFAULT_API else f" --api {self.api}"

    def _decide_review(self, body: dict[str, Any], request: web.Request) -> Answer:
        review = self.reviews.get(request.match_info["review_id"])
        if review is None:
            return Answer(404, {"error": "no_such_review"})
        review.update(decided=True, approved=bool(body.get("approved")))
        return Answer(200, {"reviewId": review["reviewId"], "approved": review["approved"]})

    async def _list_reviews(self, request: web.Request) -> web.Response:
        everything = request.query.get("all") in ("1", "true")
        listed = [r for r in self.reviews.values() if everything or not r["decided"]]
        return web.json_response({"reviews": listed})

    def _send_mail(self, body: dict[str, Any], request: web.Request) -> Answer:
        message = {"messageId": self._next_id("msg"), "template": request.match_info["template"],
                   **body}
        self.mail.append(message)
        return Answer(202, message)

    def _price(self, body: dict[str, Any], request: web.Request) -> Answer:
        net = body.get("total")
        if not isinstance(net, (int, float)) or isinstance(net, bool):
            return Answer(422, {"error": "total must be a number"})
        vat = round(net * 0.2, 2)
        price = {"net": net, "vat": vat, "gross": round(net + vat, 2),
                 "currency": body.get("currency")}
        return Answer(200, {"orderId": body.get("orderId"), "price": price})

    # -- files: list a batch, parse, store ----------------------------------------------

    def _list_batch(self, body: dict[str, Any], request: web.Request) -> Answer:
        batch = body.get("batchId")
        if not isinstance(batch, str) or not batch:
            return Answer(422, {"error": "batchId is missing"})
        files = [f"{batch}/part-{n:02d}{'.corrupt' if n == 7 else ''}.csv"
                 for n in range(1, FILES_PER_BATCH + 1)]
        return Answer(200, {"batchId": batch, "files": files})

    def _parse_file(self, body: dict[str, Any], request: web.Request) -> Answer:
        name = str(body.get("file"))
        if "corrupt" in name:
            return Answer(422, {"error": "unparseable", "file": name, "line": 3})
        return Answer(200, {"file": name, "records": [{"line": n, "value": f"{name}#{n}"}
                                                      for n in range(1, RECORDS_PER_FILE + 1)]})

    def _store_file(self, body: dict[str, Any], request: web.Request) -> Answer:
        records = body.get("records")
        if not isinstance(records, list):
            return Answer(422, {"error": "records must be a list"})
        name = str(body.get("file"))
        self.stored_files[name] = self.stored_files.get(name, 0) + len(records)
        return Answer(201, {"file": name, "count": len(records)})

    # -- ML: feature jobs, training, evaluation, registry -------------------------------

    def _build_features(self, body: dict[str, Any], request: web.Request) -> Answer:
        kind = request.match_info["kind"]
        if kind not in ("users", "items", "interactions"):
            return Answer(404, {"error": f"no feature job {kind!r}"})
        return Answer(200, {"featureSetId": self._next_id(f"fs_{kind}"),
                            "dataset": body.get("dataset"),
                            "rows": {"users": 1200, "items": 480, "interactions": 56000}[kind]})

    def _train(self, body: dict[str, Any], request: web.Request) -> Answer:
        hyper = body.get("hyperparameters")
        epochs = hyper.get("epochs", 10) if isinstance(hyper, dict) else 10
        model_id = self._next_id("model")
        self.models[model_id] = {"modelId": model_id, "epochs": epochs, "registered": False}
        return Answer(200, {"modelId": model_id, "epochs": epochs})

    def _evaluate(self, body: dict[str, Any], request: web.Request) -> Answer:
        model = self.models.get(str(body.get("modelId")))
        if model is None:
            return Answer(404, {"error": "no_such_model"})
        epochs = model["epochs"] if isinstance(model["epochs"], (int, float)) else 10
        accuracy = round(min(0.99, 0.75 + 0.02 * epochs), 3)
        return Answer(200, {"modelId": model["modelId"], "accuracy": accuracy})

    def _register_model(self, body: dict[str, Any], request: web.Request) -> Answer:
        model = self.models.get(str(body.get("modelId")))
        if model is None:
            return Answer(404, {"error": "no_such_model"})
        model.update(registered=True, accuracy=body.get("accuracy"))
        version = sum(1 for m in self.models.values() if m["registered"])
        return Answer(201, {"modelId": model["modelId"], "version": version, "registered": True})

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
