"""The request rewriter: a request object in the fields becomes a few plain fields.

``log.dbg("Something is wrong", {"request": req})`` works with a WSGI environ, an ASGI scope,
a Starlette/FastAPI ``Request``, a Flask/Werkzeug request, a Django ``HttpRequest``, or any
object with a ``txnId`` attribute (the original Log Magic style). The object is replaced by
``txnId``, ``accountId``, ``method``, ``path``, ``remote_addr`` and ``user_agent``; the object
itself (headers, cookies, bodies) is never dumped. Nothing here imports a web framework: the
kinds are told apart by their shape.

``accountId`` comes from the hook set with ``logmagic.configure(account_id=fn)``, called with
the object as given; without a hook it is the object's ``accountId`` or ``account_id``
attribute, the WSGI environ key ``logmagic.account_id`` or the ASGI ``scope["state"]["account_id"]``,
else ``None`` (unauthenticated).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from logmagic._report import warn, warn_once
from logmagic._safe import describe_exception, safe_str

__all__ = [
    "ENVIRON_KEY",
    "STATE_KEY",
    "AccountHook",
    "account_hook_state",
    "describe",
    "environ_path",
    "hide_unknown_request",
    "request_rewriter",
    "restore_account_hook",
    "scope_path",
]

#: Where the middleware leaves the txnId for the app: WSGI environ key, ASGI scope["state"] key.
ENVIRON_KEY = "logmagic.txn_id"
STATE_KEY = "txn_id"

AccountHook = Callable[[Any], Any]
_hook: AccountHook | None = None
_hook_failed = False


def account_hook_state() -> tuple[AccountHook | None, bool]:
    """The account hook and whether its failure was reported, for ``restore_account_hook``."""
    return _hook, _hook_failed


def restore_account_hook(state: tuple[AccountHook | None, bool]) -> None:
    """Put back what ``account_hook_state`` returned."""
    global _hook, _hook_failed
    _hook, _hook_failed = state


def _text(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value  # the encoders cap and clean strings
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return safe_str(value, 2048)


def environ_path(env: Mapping[str, Any]) -> str:
    """The path a WSGI client asked for, as text.

    PEP 3333 hands ``SCRIPT_NAME``/``PATH_INFO`` over as latin-1 "bytes in a str"; a UTF-8
    path (``/café``) is decoded back so the log shows what the client sent. A path that is
    not UTF-8 stays as the server gave it.
    """
    raw = f"{env.get('SCRIPT_NAME', '')}{env.get('PATH_INFO', '')}" or "/"
    try:
        return raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return raw


def scope_path(scope: Mapping[str, Any]) -> str:
    """The full path of an ASGI request.

    The ASGI spec says ``path`` already includes ``root_path``, but some servers and
    frameworks leave it out; ``root_path`` is added only when ``path`` does not start with it,
    so it is never logged twice.
    """
    root = scope.get("root_path") or ""
    path = scope.get("path") or ""
    if type(root) is not str or type(path) is not str:
        return f"{_text(root) or ''}{_text(path) or ''}" or "/"
    if root and not path.startswith(root):
        path = root + path
    return path or "/"


def _from_environ(env: Mapping[str, Any]) -> dict[str, Any]:
    path = environ_path(env)
    return {
        "txnId": env.get(ENVIRON_KEY),
        "accountId": env.get("logmagic.account_id"),
        "method": _text(env.get("REQUEST_METHOD")),
        "path": _text(path),
        "remote_addr": _text(env.get("REMOTE_ADDR")),
        "user_agent": _text(env.get("HTTP_USER_AGENT")),
    }


def _from_scope(scope: Mapping[str, Any]) -> dict[str, Any]:
    found = scope.get("state")
    state: Mapping[str, Any] = found if type(found) is dict or isinstance(found, Mapping) else {}
    agent = None
    for name, value in scope.get("headers") or ():
        if name == b"user-agent":
            agent = value
            break
    client = scope.get("client")
    path = scope_path(scope)
    return {
        "txnId": state.get(STATE_KEY),
        "accountId": state.get("account_id"),
        "method": _text(scope.get("method") or ("WEBSOCKET" if scope.get("type") == "websocket" else None)),
        "path": _text(path),
        "remote_addr": _text(client[0]) if client else None,
        "user_agent": _text(agent),
    }


def _is_mapping(obj: Any) -> bool:
    return type(obj) is dict or isinstance(obj, Mapping)


def _is_environ(obj: Any) -> bool:
    return _is_mapping(obj) and "REQUEST_METHOD" in obj


def _is_scope(obj: Any) -> bool:
    return _is_mapping(obj) and obj.get("type") in ("http", "websocket")


def describe(request: Any) -> dict[str, Any] | None:
    """The plain fields for a request object, or ``None`` when it is not one we know."""
    if _is_mapping(request):
        if "REQUEST_METHOD" in request:
            info = _from_environ(request)
        elif request.get("type") in ("http", "websocket"):
            info = _from_scope(request)
        else:
            return None
    elif _is_scope(getattr(request, "scope", None)):  # Starlette / FastAPI
        info = _from_scope(request.scope)
    elif _is_environ(getattr(request, "environ", None)):  # Flask / Werkzeug
        info = _from_environ(request.environ)
    elif _is_environ(getattr(request, "META", None)):  # Django
        info = _from_environ(request.META)
    elif hasattr(request, "txnId"):  # the original style: any object carrying its txnId
        info = {
            "txnId": None,
            "accountId": None,
            "method": _text(getattr(request, "method", None)),
            "path": _text(getattr(request, "path", None) or getattr(request, "url", None)),
            "remote_addr": _text(getattr(request, "remote_addr", None)),
            "user_agent": None,
        }
    else:
        return None
    own_txn = getattr(request, "txnId", None)
    if own_txn is not None:
        info["txnId"] = _text(own_txn)
    info["accountId"] = _account(request, info["accountId"])
    return info


def _account(request: Any, found: Any) -> Any:
    global _hook_failed
    if _hook is not None:
        try:
            value = _hook(request)
        except Exception as exc:
            if not _hook_failed:
                _hook_failed = True
                warn(f"account_id hook raised {describe_exception(exc)}; accountId is null for such requests")
            return None
    else:
        value = getattr(request, "accountId", None) or getattr(request, "account_id", None) or found
    if value is None or isinstance(value, (str, int)):
        return value
    return safe_str(value, 256)


def request_rewriter(facility: str, level: int, msg: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Replace ``fields["request"]`` by the request's plain fields; registered by default.

    Fields the caller set explicitly (``txnId`` included) win over those from the request.
    A request that raises when read (a framework's proxy used outside a request) becomes
    ``"<TypeName: the error>"``; the record keeps its other fields.
    It runs after the user's rewriters, which may have turned a request of their own kind into
    fields already. A ``request`` that is not a known kind of object is left as it is; the
    step after this one (``hide_unknown_request``) replaces it by its type name, so the object
    is never dumped.
    """
    request = fields.get("request")
    if request is None:
        return fields
    try:
        info = describe(request)
    except Exception as exc:  # e.g. a framework's request proxy used outside a request
        _say_unreadable(request, exc)
        fields["request"] = f"<{type(request).__name__}: {describe_exception(exc)}>"
        return fields
    if info is None:
        return fields
    del fields["request"]
    for k, v in info.items():
        if v is not None or k == "accountId":
            fields.setdefault(k, v)
    return fields


def _say_unreadable(request: object, exc: Exception) -> None:
    name = type(request).__qualname__
    warn_once(
        f"unreadable request:{name}",
        f"a request of type {name} could not be read ({describe_exception(exc)}); logged as its type name",
    )


def hide_unknown_request(facility: str, level: int, msg: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Replace a ``request`` object nothing turned into plain fields by ``"<TypeName>"``."""
    request = fields.get("request")
    if request is not None and not isinstance(request, (str, int, float, bool)):
        fields["request"] = f"<{type(request).__name__}>"
    return fields
