"""The `jwtauth` command line: secrets, keys and configuration checks."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer

from jwtauth.config import ENV_PREFIX, Settings, production_warnings
from jwtauth.errors import ConfigurationError, JWTAuthError
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import generate_key
from jwtauth.keys.material import looks_like_public_key_material
from jwtauth.lifecycle.managed import ManagedKeyring, keyring_source
from jwtauth.lifecycle.rotation import KeyRecord
from jwtauth.sources.loading import load_secret, private_pem, write_private_file

__all__ = ["app", "main"]

app = typer.Typer(
    name="jwtauth",
    help="JWT authentication done right by default: secrets, keys and configuration checks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
secret_app = typer.Typer(help="Generate and check HMAC secrets.", no_args_is_help=True)
keys_app = typer.Typer(help="Generate, list and rotate signing keys.", no_args_is_help=True)
config_app = typer.Typer(help="Check the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
app.add_typer(secret_app, name="secret")
app.add_typer(keys_app, name="keys")
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
users_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")

MIN_GENERATED_BYTES = 32

_log = logging.getLogger(__name__)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"jwtauth: {message}", err=True)
    return typer.Exit(code=1)


def _load_settings() -> Settings:
    try:
        return Settings.load()
    except JWTAuthError as exc:
        raise _fail(exc.message) from None


def _check_schema(settings: Settings) -> None:
    """Production serves only a database already at this version's schema (development migrates
    on start); config check and serve give the same one-line reason, before a port is bound.

    Raises:
        ConfigurationError: why the database cannot be served.
    """
    if not settings.is_production:
        return
    from jwtauth.stores.sql_database import schema_problem  # noqa: PLC0415 - the server extra

    problem = schema_problem(settings.database_url_for_state())
    if problem is not None:
        raise ConfigurationError(problem)


@secret_app.command("generate")
def secret_generate(
    nbytes: Annotated[int, typer.Option("--bytes", help="random bytes (>= 32)")] = 48,
    out: Annotated[Path | None, typer.Option(help="write to this new file (mode 0600)")] = None,
) -> None:
    """Print a new random HMAC secret once (base64url), or write it to a 0600 file."""
    if nbytes < MIN_GENERATED_BYTES:
        raise _fail(f"--bytes must be at least {MIN_GENERATED_BYTES} (256 bits)")
    value = secrets.token_urlsafe(nbytes)
    # At some lengths a random text can have the shape of a public key's encoding (a JWK `n`,
    # about 1 in 40 at exactly a modulus length), which HMACKey refuses: draw again.
    while looks_like_public_key_material(value.encode("ascii")):
        value = secrets.token_urlsafe(nbytes)
    if out is None:
        typer.echo(value)
        return
    try:
        write_private_file(out, value.encode("ascii") + b"\n")
    except FileExistsError:
        raise _fail(f"{out} exists; refusing to overwrite a secret") from None
    typer.echo(f"wrote a {nbytes * 8}-bit secret to {out} (mode 0600)")
    typer.echo(f"use it with: {ENV_PREFIX}SECRET_FILE={out}")


@secret_app.command("check")
def secret_check() -> None:
    """Report the strength of the configured secret without printing it."""
    settings = _load_settings()
    try:
        loaded = load_secret(settings.key_config())
    except JWTAuthError as exc:
        raise _fail(exc.message) from None
    if loaded is None:
        raise _fail(f"no secret configured ({ENV_PREFIX}SECRET or {ENV_PREFIX}SECRET_FILE)")
    strength = loaded.strength()
    typer.echo(
        f"source: {loaded.source}; length: {strength.length} bytes; "
        f"estimated entropy: {strength.entropy_bits} bits"
    )
    if loaded.source == ".env" and settings.is_production:
        raise _fail(".env files are refused in production")
    if not strength.ok:
        raise _fail(f"weak secret: {strength.reason}")
    typer.echo("ok: the secret is strong")


@keys_app.command("generate")
def keys_generate(
    alg: Annotated[Algorithm, typer.Option("--alg", help="signing algorithm")] = Algorithm.ES256,
    out: Annotated[Path | None, typer.Option(help="PEM file to create (mode 0600)")] = None,
    kid: Annotated[str | None, typer.Option(help="key id (default: RFC 7638 thumbprint)")] = None,
) -> None:
    """Create a private key file (mode 0600) and print its public JWK."""
    if alg.family == "HS":
        raise _fail("HS* algorithms use a shared secret: run `jwtauth secret generate`")
    key = generate_key(alg, kid=kid)
    path = out if out is not None else Path(f"jwtauth-{alg.value}-{key.kid[:12]}.pem")
    try:
        write_private_file(path, private_pem(key))
    except FileExistsError:
        raise _fail(f"{path} exists; refusing to overwrite a key") from None
    typer.echo(f"wrote the private key to {path} (mode 0600)", err=True)
    usage = f"{ENV_PREFIX}ALGORITHM={alg.value} {ENV_PREFIX}PRIVATE_KEY_FILE={path}"
    typer.echo(f"use it with: {usage}", err=True)
    typer.echo(json.dumps(key.public_jwk(), indent=2))


def _print_keys(records: tuple[KeyRecord, ...]) -> None:
    typer.echo(f"{'kid':<45} {'alg':<6} {'state':<9} {'created':<20} {'activated':<20} "
               f"{'deactivated':<20} retires")  # fmt: skip
    for r in records:
        dates = (r.created_at, r.activated_at, r.deactivated_at, r.retire_at)
        typer.echo(f"{r.kid:<45} {r.alg.value:<6} {r.state.value:<9} "
                   + " ".join(f"{_utc(d):<20}" for d in dates).rstrip())  # fmt: skip


def _utc(instant: float | None) -> str:
    if instant is None:
        return "-"
    return datetime.fromtimestamp(instant, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@keys_app.command("list")
def keys_list() -> None:
    """Show the managed keyring: kid, algorithm, state and dates (never key material)."""
    from jwtauth.lifecycle.admin import list_keys  # noqa: PLC0415 - needs the sql extra

    settings = _load_settings()
    try:
        _print_keys(asyncio.run(list_keys(settings)))
    except JWTAuthError as exc:
        raise _fail(exc.message) from None


@keys_app.command("rotate")
def keys_rotate(
    force: Annotated[
        bool, typer.Option(help="promote `next` even if JWKS caches may not know it yet")
    ] = False,
    compromised: Annotated[
        bool, typer.Option(help="retire every key now and start from two new ones")
    ] = False,
) -> None:
    """Rotate the managed keyring: next signs, active retires after its grace, a new next."""
    from jwtauth.lifecycle.admin import rotate_keys  # noqa: PLC0415 - needs the sql extra

    settings = _load_settings()
    try:
        records = asyncio.run(rotate_keys(settings, force=force, compromised=compromised))
    except JWTAuthError as exc:
        raise _fail(exc.message) from None
    _print_keys(records)
    typer.echo(
        f"ok: rotated; every server uses the new key within {settings.keyring_poll_interval:g} s",
        err=True,
    )


@app.command("revoke-all")
def revoke_all(
    yes: Annotated[bool, typer.Option("--yes", help="do it without asking")] = False,
) -> None:
    """Emergency: refuse every token issued until now and end every session."""
    from jwtauth.lifecycle.admin import revoke_all as revoke  # noqa: PLC0415

    settings = _load_settings()
    if not yes:
        typer.confirm("Every user must log in again. Revoke every token now?", abort=True)
    try:
        outcome = asyncio.run(revoke(settings))
    except JWTAuthError as exc:
        raise _fail(exc.message) from None
    typer.echo(
        f"ok: every token issued before {_utc(outcome.revoked_before)} is refused "
        f"(within {settings.keyring_poll_interval:g} s everywhere; at once through Redis); "
        f"{outcome.sessions} sessions ended"
    )


@config_app.command("check")
def config_check() -> None:
    """Run every start-up check on the configuration; exit 1 with the reason if one fails."""
    settings = _load_settings()
    try:
        source = keyring_source(settings)
        if settings.is_production:
            settings.https_origin(settings.issuer_for("", 0))
        _check_schema(settings)
    except JWTAuthError as exc:
        raise _fail(exc.message) from None
    if isinstance(source, ManagedKeyring):
        typer.echo(
            f"ok: {settings.env} mode, {settings.algorithm} signing key in the managed keyring "
            "(see: jwtauth keys list)"
        )
    else:
        key = source.signing_key
        typer.echo(f"ok: {settings.env} mode, {key.alg} signing key {key.kid!r}")
    # Valid, so not a failure; the same lines `jwtauth serve` logs at start.
    for finding in production_warnings(settings):
        typer.echo(f"warning: {finding}")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to bind")] = 8000,
) -> None:
    """Run the auth server (uvicorn, one process)."""
    import uvicorn  # noqa: PLC0415 - the server extra is needed only here

    from jwtauth.server import create_app  # noqa: PLC0415
    from jwtauth.server.protocol import head_timeout_protocol  # noqa: PLC0415

    settings = _load_settings()
    try:
        application = create_app(settings, host=host, port=port)
        # Here, not only in the app's lifespan: there a refusal would end inside uvicorn's
        # traceback instead of as the one line config check gives.
        _check_schema(settings)
    except JWTAuthError as exc:
        raise _fail(exc.message) from None
    for finding in production_warnings(settings):
        _log.warning("warning: %s", finding)
    from jwtauth.hygiene.redaction import install_redaction, redacting_log_config  # noqa: PLC0415

    # uvicorn creates its handlers after create_app installed the filter: hand it over.
    log_config = redacting_log_config(uvicorn.config.LOGGING_CONFIG, install_redaction())
    uvicorn.run(
        application,
        host=host,
        port=port,
        proxy_headers=False,
        server_header=False,
        log_config=log_config,
        # Pinned, not "auto" (which takes httptools when installed): the head deadline is a
        # subclass of uvicorn's h11 protocol. No WebSocket route, so no upgrade either.
        http=head_timeout_protocol(settings.header_timeout),
        ws="none",
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (production runs this; development does it on start)."""
    from jwtauth.stores.sql_database import upgrade  # noqa: PLC0415

    settings = _load_settings()
    if settings.database_url is None:
        settings.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    upgrade(settings.database_url_for_state())
    typer.echo("ok: the database schema is up to date")


@app.command("purge")
def purge() -> None:
    """Delete expired refresh tokens and finished sessions from the database."""
    import asyncio  # noqa: PLC0415
    import time  # noqa: PLC0415

    from jwtauth.stores.sql import SQLStore  # noqa: PLC0415

    settings = _load_settings()

    async def run() -> int:
        store = SQLStore(settings.database_url_for_state())
        try:
            return await store.purge(time.time())
        finally:
            await store.close()

    typer.echo(f"ok: purged {asyncio.run(run())} rows")


@users_app.command("unlock")
def users_unlock(email: Annotated[str, typer.Argument(help="the account's email")]) -> None:
    """End the lockout of an account name and forget its failed logins."""
    import asyncio  # noqa: PLC0415

    from jwtauth.auth.service import account_key, normalise_email, user_key  # noqa: PLC0415
    from jwtauth.stores.sql import SQLStore  # noqa: PLC0415
    from jwtauth.stores.sql_lockout import SQLLockoutStore  # noqa: PLC0415

    settings = _load_settings()

    async def run() -> bool:
        store = SQLStore(settings.database_url_for_state())
        try:
            lockout = SQLLockoutStore(store)
            # A known account counts under its user id; the name's own key holds what was
            # counted while no user had that email.
            user = await store.by_email(normalise_email(email))
            cleared = user is not None and await lockout.clear(user_key(user.id))
            return await lockout.clear(account_key(email)) or cleared
        finally:
            await store.close()

    if asyncio.run(run()):
        typer.echo("ok: unlocked; its failed logins are forgotten")
    else:
        typer.echo("ok: nothing to unlock (no failed logins on record for that email)")


def _change_account(email: str, change: Literal["disable", "enable", "delete"], done: str) -> None:
    from jwtauth.server.accounts import change_account  # noqa: PLC0415 - the server extra

    settings = _load_settings()
    try:
        user_id = asyncio.run(change_account(settings, email, change))
    except JWTAuthError as exc:
        raise _fail(exc.message) from None
    if user_id is None:
        raise _fail("no account has that email")
    typer.echo(f"ok: {done} (user {user_id})")


@users_app.command("disable")
def users_disable(email: Annotated[str, typer.Argument(help="the account's email")]) -> None:
    """Disable an account: it cannot log in, its sessions end, every token issued to it is
    refused from now on, in every server process."""
    _change_account(email, "disable", "disabled; its sessions are ended and its tokens refused")


@users_app.command("enable")
def users_enable(email: Annotated[str, typer.Argument(help="the account's email")]) -> None:
    """Enable a disabled account again (tokens revoked while it was disabled stay revoked)."""
    _change_account(email, "enable", "enabled")


@users_app.command("delete")
def users_delete(
    email: Annotated[str, typer.Argument(help="the account's email")],
    yes: Annotated[bool, typer.Option("--yes", help="do it without asking")] = False,
) -> None:
    """Delete an account with its sessions and second factor; its tokens are refused."""
    if not yes:
        typer.confirm("Delete this account and everything it owns?", abort=True)
    _change_account(email, "delete", "deleted; its tokens are refused")


@app.command("scan")
def scan(
    paths: Annotated[list[Path] | None, typer.Argument(help="files or directories [.]")] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="ignore the findings this detect-secrets baseline records")
    ] = None,
    update_baseline: Annotated[
        Path | None, typer.Option(help="write every finding to this baseline file instead")
    ] = None,
) -> None:
    """Find hardcoded JWT secrets, private keys, .env files and JWTs; exit 1 on findings."""
    try:
        from jwtauth.hygiene import scan as scanner  # noqa: PLC0415 - the scan extra is needed only here
    except ModuleNotFoundError:
        typer.echo("jwtauth: scan needs the scan extra: pip install 'jwtauth[scan]'", err=True)
        raise typer.Exit(code=2) from None
    targets = paths or [Path(".")]
    if baseline is not None and update_baseline is not None:
        typer.echo("jwtauth: use either --baseline or --update-baseline", err=True)
        raise typer.Exit(code=2)
    try:
        if update_baseline is not None:
            count = scanner.update_baseline(targets, update_baseline)
            typer.echo(f"wrote {count} finding(s) to {update_baseline}; review each one")
            return
        findings = scanner.scan(targets, baseline=baseline)
    except JWTAuthError as exc:
        typer.echo(f"jwtauth: {exc.message}", err=True)
        raise typer.Exit(code=2) from None
    for finding in findings:
        typer.echo(str(finding))
    if findings:
        raise typer.Exit(code=1)


@app.command("audit-routes")
def audit_routes(
    target: Annotated[str, typer.Argument(help="the application, as module:attribute")],
    app_dir: Annotated[Path, typer.Option(help="directory to import the module from")] = Path(),
) -> None:
    """List every route with its authentication; exit 1 if one is neither protected nor public."""
    import sys  # noqa: PLC0415

    from jwtauth.integrations import audit  # noqa: PLC0415 - imports the app's framework, so only here

    sys.path.insert(0, str(app_dir.resolve()))
    try:
        rows = audit.audit(audit.load_app(target))
    except JWTAuthError as exc:
        typer.echo(f"jwtauth: {exc.message}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(audit.render(rows))
    unprotected = sum(row.protection == "unprotected" for row in rows)
    if unprotected:
        typer.echo(f"jwtauth: {unprotected} route(s) neither protected nor marked public", err=True)
        raise typer.Exit(code=1)


def main() -> None:
    """Entry point of the `jwtauth` console script."""
    app(prog_name="jwtauth")


if __name__ == "__main__":  # pragma: no cover
    main()
