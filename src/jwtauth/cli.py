"""The `jwtauth` command line: secrets, keys and configuration checks."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Annotated

import typer

from jwtauth.config import ENV_PREFIX, Settings
from jwtauth.errors import JWTAuthError
from jwtauth.keys.algorithms import Algorithm
from jwtauth.keys.key import generate_key
from jwtauth.keys.loading import load_keyring, load_secret, private_pem, write_private_file

__all__ = ["app", "main"]

app = typer.Typer(
    name="jwtauth",
    help="JWT authentication done right by default: secrets, keys and configuration checks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
secret_app = typer.Typer(help="Generate and check HMAC secrets.", no_args_is_help=True)
keys_app = typer.Typer(help="Generate signing keys.", no_args_is_help=True)
config_app = typer.Typer(help="Check the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
app.add_typer(secret_app, name="secret")
app.add_typer(keys_app, name="keys")
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")

MIN_GENERATED_BYTES = 32


def _fail(message: str) -> typer.Exit:
    typer.echo(f"jwtauth: {message}", err=True)
    return typer.Exit(code=1)


def _load_settings() -> Settings:
    try:
        return Settings.load()
    except JWTAuthError as exc:
        raise _fail(exc.message) from None


@secret_app.command("generate")
def secret_generate(
    nbytes: Annotated[int, typer.Option("--bytes", help="random bytes (>= 32)")] = 48,
    out: Annotated[Path | None, typer.Option(help="write to this new file (mode 0600)")] = None,
) -> None:
    """Print a new random HMAC secret once (base64url), or write it to a 0600 file."""
    if nbytes < MIN_GENERATED_BYTES:
        raise _fail(f"--bytes must be at least {MIN_GENERATED_BYTES} (256 bits)")
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
        loaded = load_secret(settings)
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


@config_app.command("check")
def config_check() -> None:
    """Run every start-up check on the configuration; exit 1 with the reason if one fails."""
    settings = _load_settings()
    try:
        keyring = load_keyring(settings)
        if settings.is_production:
            settings.issuer_for("", 0)
    except JWTAuthError as exc:
        raise _fail(exc.message) from None
    key = keyring.signing_key
    typer.echo(f"ok: {settings.env} mode, {key.alg} signing key {key.kid!r}")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to bind")] = 8000,
) -> None:
    """Run the auth server (uvicorn, one process)."""
    import uvicorn  # noqa: PLC0415 - the server extra is needed only here

    from jwtauth.server import create_app  # noqa: PLC0415

    settings = _load_settings()
    try:
        application = create_app(settings, host=host, port=port)
    except JWTAuthError as exc:
        raise _fail(exc.message) from None
    uvicorn.run(application, host=host, port=port, proxy_headers=False, server_header=False)


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


def main() -> None:
    """Entry point of the `jwtauth` console script."""
    app(prog_name="jwtauth")


if __name__ == "__main__":  # pragma: no cover
    main()
