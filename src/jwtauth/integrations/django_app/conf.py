"""The Django settings of the integration: ``JWTAUTH = {...}``, or simplejwt's ``SIMPLE_JWT``.

A simplejwt project migrates by changing its imports and renaming one settings key; the names
below mean what they mean in simplejwt. Where jwtauth always does the safer thing (rotation,
blacklisting after rotation, the token type in the signed header) the simplejwt switch is
accepted and ignored, and the system check says so. A name jwtauth does not know is refused
(a typo must not silently leave a default in place).

==========================  ===================================================================
``SIGNING_KEY``             the HMAC secret (32+ bytes for HS256) or a PEM private key; never
                            defaults to ``SECRET_KEY`` and may not equal it
``VERIFYING_KEY``           a PEM public key: verify only (a resource server)
``JWK_URL``                 the issuer's JWKS: verify only, keys fetched and refreshed
``ALGORITHM``               ``HS256`` by default; the key decides, never the token
``ISSUER`` / ``AUDIENCE``   required issuer; the audience tokens must carry
``ACCESS_TOKEN_LIFETIME``   ``timedelta``, 5 minutes by default
``REFRESH_TOKEN_LIFETIME``  ``timedelta``, 1 day by default
``LEEWAY``                  seconds (or ``timedelta``) of clock skew tolerated
``AUTH_HEADER_TYPES``       schemes accepted in the header, ``("Bearer",)`` by default
``AUTH_HEADER_NAME``        the ``request.META`` key, ``HTTP_AUTHORIZATION`` by default
``USER_ID_FIELD``           the user model field `sub` holds, ``id`` by default
``USER``                    jwtauth's own: ``"database"`` (default) or ``"stateless"``
``USER_CACHE_SECONDS``      how long a database user is reused, 5 by default (0: no cache)
``USER_CACHE_SIZE``         how many users the cache holds, 10,000 by default
``REDIS_URL``               share revocations through Redis (else in this process only)
``REDIS_NAMESPACE``         the deployment's names on that Redis; derived from ``ISSUER`` by
                            default, as ``jwtauth serve`` derives its ``JWTAUTH_REDIS_NAMESPACE``
``REALM``                   the ``realm`` of the ``WWW-Authenticate`` challenge, on the
                            protected views and the embedded auth API's routes alike; unset:
                            ``jwtauth`` with the embedded auth (as ``jwtauth serve``, or
                            ``JWTAUTH_REALM``), simplejwt's ``api`` when only verifying
==========================  ===================================================================
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from jwtauth.errors import ConfigurationError
from jwtauth.integrations._http import Authenticator
from jwtauth.integrations._sync import SyncRuntime
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import HMACKey, Key, generate_key, key_from_pem
from jwtauth.keys.keyring import KeyRing
from jwtauth.manager import TokenManager
from jwtauth.redis_namespace import check_namespace, redis_namespace
from jwtauth.stores.memory import MemoryRevocationStore
from jwtauth.types import RevocationStore

__all__ = ["IGNORED", "SETTINGS_NAMES", "Options", "build_runtime", "parse"]

SETTINGS_NAMES = ("JWTAUTH", "SIMPLE_JWT")
_KNOWN = frozenset({
    "SIGNING_KEY", "VERIFYING_KEY", "JWK_URL", "ALGORITHM", "ISSUER", "AUDIENCE",
    "ACCESS_TOKEN_LIFETIME", "REFRESH_TOKEN_LIFETIME", "LEEWAY", "AUTH_HEADER_TYPES",
    "AUTH_HEADER_NAME", "USER_ID_FIELD", "USER", "USER_CACHE_SECONDS", "USER_CACHE_SIZE",
    "REDIS_URL", "REDIS_NAMESPACE", "REALM",
})  # fmt: skip
IGNORED: Mapping[str, str] = {
    # simplejwt settings whose effect jwtauth always has, or that name simplejwt's own classes.
    "ROTATE_REFRESH_TOKENS": "refresh tokens are always rotated",
    "BLACKLIST_AFTER_ROTATION": "a rotated refresh token is always revoked",
    "UPDATE_LAST_LOGIN": "last_login is updated by the obtain view",
    "USER_ID_CLAIM": "the user id is always the registered claim `sub`",
    "TOKEN_TYPE_CLAIM": "the token type is the signed `typ` header",
    "JTI_CLAIM": "the token id is always `jti`",
    "CHECK_USER_IS_ACTIVE": "inactive users are always refused",
    "CHECK_REVOKE_TOKEN": "revocation is always checked",
    "REVOKE_TOKEN_CLAIM": "revocation is always checked",
    "USER_AUTHENTICATION_RULE": "inactive users are always refused",
    "AUTH_TOKEN_CLASSES": "tokens are jwtauth's access tokens",
    "TOKEN_USER_CLASS": "USER = 'stateless' gives a claims-only user",
    "TOKEN_OBTAIN_SERIALIZER": "the views are jwtauth's",
    "TOKEN_REFRESH_SERIALIZER": "the views are jwtauth's",
    "TOKEN_VERIFY_SERIALIZER": "the views are jwtauth's",
    "TOKEN_BLACKLIST_SERIALIZER": "the views are jwtauth's",
    "SLIDING_TOKEN_OBTAIN_SERIALIZER": "sliding tokens are not supported",
    "SLIDING_TOKEN_REFRESH_SERIALIZER": "sliding tokens are not supported",
    "SLIDING_TOKEN_REFRESH_EXP_CLAIM": "sliding tokens are not supported",
    "SLIDING_TOKEN_LIFETIME": "sliding tokens are not supported",
    "SLIDING_TOKEN_REFRESH_LIFETIME": "sliding tokens are not supported",
    "JSON_ENCODER": "claims are encoded by jwtauth",
}
UserMode = Literal["database", "stateless"]


@dataclass(frozen=True, slots=True)
class Options:
    """The parsed settings; ``source`` names the settings key they came from."""

    source: str
    issuer: str
    audience: str | None
    manager: TokenManager
    can_sign: bool
    jwk_url: str | None
    access_lifetime: int
    refresh_lifetime: int
    header_types: frozenset[str]
    header_name: str
    user_id_field: str
    user: UserMode
    user_cache_seconds: float
    user_cache_size: int
    redis_url: str | None
    redis_namespace: str | None
    realm: str | None  # None: the default of the mode (see build_runtime, _embedded_auth)
    ignored: tuple[str, ...]


def settings_of(django_settings: Any) -> tuple[str, Mapping[str, Any]]:
    """Which settings key configures the integration, and its dict.

    Raises:
        ConfigurationError: neither or both are set, or the value is not a dict.
    """
    present = [n for n in SETTINGS_NAMES if getattr(django_settings, n, None) is not None]
    if len(present) != 1:
        raise ConfigurationError("set exactly one of the JWTAUTH and SIMPLE_JWT settings")
    value = getattr(django_settings, present[0])
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{present[0]} must be a dict")
    return present[0], value


def parse(source: str, raw: Mapping[str, Any], *, secret_key: str | None) -> Options:
    """Check ``raw`` (the settings dict) and build the token manager it describes.

    Raises:
        ConfigurationError: an unknown name, a missing or contradictory value.
        KeyConfigurationError: a key that cannot be used (a weak secret, say).
    """
    unknown = sorted(set(raw) - _KNOWN - set(IGNORED))
    if unknown:
        raise ConfigurationError(f"{source}: unknown settings {', '.join(unknown)}")
    issuer = raw.get("ISSUER")
    if not isinstance(issuer, str) or not issuer:
        raise ConfigurationError(f"{source}['ISSUER'] is required (the `iss` tokens must carry)")
    audience = raw.get("AUDIENCE")
    if audience is not None and not isinstance(audience, str):
        raise ConfigurationError(f"{source}['AUDIENCE'] must be a string")
    access = _seconds(raw.get("ACCESS_TOKEN_LIFETIME", timedelta(minutes=5)), "ACCESS")
    refresh = _seconds(raw.get("REFRESH_TOKEN_LIFETIME", timedelta(days=1)), "REFRESH")
    keyring, can_sign = _keyring(source, raw, secret_key)
    manager = TokenManager(
        keyring,
        issuer=issuer,
        audience=audience,
        ttl=access,
        leeway=_leeway(raw.get("LEEWAY", 0)),
    )
    user = raw.get("USER", "database")
    if user not in ("database", "stateless"):
        raise ConfigurationError(f"{source}['USER'] is 'database' or 'stateless'")
    types = raw.get("AUTH_HEADER_TYPES", ("Bearer",))
    if isinstance(types, str):
        types = (types,)
    if not types or not all(isinstance(t, str) and t and " " not in t for t in types):
        raise ConfigurationError(f"{source}['AUTH_HEADER_TYPES'] must name one or more schemes")
    return Options(
        source=source,
        issuer=issuer,
        audience=audience,
        manager=manager,
        can_sign=can_sign,
        jwk_url=raw.get("JWK_URL"),
        access_lifetime=access,
        refresh_lifetime=refresh,
        header_types=frozenset(t.lower() for t in types),
        header_name=str(raw.get("AUTH_HEADER_NAME", "HTTP_AUTHORIZATION")),
        user_id_field=str(raw.get("USER_ID_FIELD", "id")),
        user=user,
        user_cache_seconds=float(raw.get("USER_CACHE_SECONDS", 5.0)),
        user_cache_size=int(raw.get("USER_CACHE_SIZE", 10_000)),
        redis_url=raw.get("REDIS_URL"),
        redis_namespace=_namespace(source, raw.get("REDIS_NAMESPACE")),
        realm=_realm(source, raw.get("REALM")),
        ignored=tuple(sorted(set(raw) & set(IGNORED))),
    )


def _realm(source: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(f"{source}['REALM'] must be a string")
    return value


def _namespace(source: str, value: Any) -> str | None:
    if value is None:
        return None
    try:
        return check_namespace(str(value))
    except ValueError as exc:
        raise ConfigurationError(f"{source}['REDIS_NAMESPACE']: {exc}") from None


def build_runtime(options: Options) -> SyncRuntime:
    """The runtime verifying requests: the manager, or a JWKS client, and a revocation store."""
    store: RevocationStore
    longest = float(max(options.access_lifetime, options.refresh_lifetime))
    realm = options.realm if options.realm is not None else "api"  # simplejwt's
    if options.redis_url is not None:
        try:
            from jwtauth.stores.redis import RedisRevocationStore  # noqa: PLC0415 - optional
        except ImportError:
            raise ConfigurationError(
                "REDIS_URL needs the redis package: pip install 'jwtauth[django]'"
            ) from None
        # The namespace of the issuer's deployment, as its auth API (embedded or not) uses.
        namespace = redis_namespace(options.redis_namespace, options.issuer)
        store = RedisRevocationStore(
            options.redis_url, namespace=namespace, max_token_lifetime=longest
        )
    else:
        store = MemoryRevocationStore(max_token_lifetime=longest)
    if options.jwk_url is not None:
        from jwtauth.jwks_client import JWKSClient, JWKSOptions  # noqa: PLC0415 - httpx

        leeway = options.manager.policy.leeway
        client = JWKSClient(
            JWKSOptions(options.jwk_url, options.issuer, options.audience, leeway=leeway)
        )
        authenticator = client.authenticator(realm=realm, revocations=store)
    else:
        authenticator = Authenticator(options.manager, realm=realm, revocations=store)
    return SyncRuntime(authenticator, revocations=store)


def _keyring(source: str, raw: Mapping[str, Any], secret_key: str | None) -> tuple[KeyRing, bool]:
    alg = Algorithm.parse(raw.get("ALGORITHM", "HS256"))
    signing, verifying = raw.get("SIGNING_KEY"), raw.get("VERIFYING_KEY")
    if raw.get("JWK_URL") is not None:
        if signing is not None or verifying is not None:
            raise ConfigurationError(f"{source}: JWK_URL excludes SIGNING_KEY and VERIFYING_KEY")
        # Verify only, through the JWKS client's own manager; this throwaway key (private, so
        # nobody can sign with it) only fills the options' manager, which never verifies.
        return KeyRing(generate_key("ES256")), False
    if signing is None and verifying is None:
        # simplejwt falls back to SECRET_KEY, tying token forgery to every other use of it.
        raise ConfigurationError(f"{source}['SIGNING_KEY'] is required (not SECRET_KEY)")
    if signing is not None:
        material = _bytes(signing)
        if secret_key and hmac.compare_digest(material, _bytes(secret_key)):
            raise ConfigurationError(f"{source}['SIGNING_KEY'] must not be Django's SECRET_KEY")
        key: Key = HMACKey(material, alg) if alg.family == "HS" else key_from_pem(material, alg)
        if not key.can_sign:
            raise ConfigurationError(f"{source}['SIGNING_KEY'] must be a private key")
        return KeyRing(key), True
    if alg.family == "HS":
        raise ConfigurationError(f"{source}['VERIFYING_KEY'] needs an asymmetric ALGORITHM")
    return KeyRing(key_from_pem(_bytes(verifying), alg)), False


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise ConfigurationError("keys are given as str or bytes")


def _seconds(value: Any, which: str) -> int:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if not isinstance(seconds, int | float) or seconds < 1:
        raise ConfigurationError(f"{which}_TOKEN_LIFETIME must be a timedelta of 1 s or more")
    return int(seconds)


def _leeway(value: Any) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if not isinstance(seconds, int | float) or not 0 <= seconds <= 300:
        raise ConfigurationError("LEEWAY must be between 0 and 300 seconds")
    return float(seconds)
