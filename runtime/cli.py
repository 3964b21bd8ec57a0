"""hyperoru command line: `python -m cli run | migrate | create-user | api | worker`."""

from __future__ import annotations

import asyncio
import os
import sys

import typer

from config.settings import Settings, ensure_data_dir, get_settings

app = typer.Typer(add_completion=False, help="hyperoru: durable AI traders on Temporal")


@app.command()
def migrate() -> None:
    """Apply database migrations (Alembic) to HYPERORU_DATABASE_URL."""
    from db.migrate import upgrade
    from runtime.secrets_check import require_openable_secrets

    settings = get_settings()
    ensure_data_dir(settings)
    upgrade(settings.resolved_database_url)
    typer.echo("database is up to date")
    # Created here, once, before the API and worker start (they would otherwise race for it);
    # and checked against the stored secrets, so a stack with the wrong key stops here.
    require_openable_secrets(settings, "migrate")
    _first_user(settings)


def _first_user(settings: Settings) -> None:
    from api.bootstrap import FIRST_EMAIL, ensure_first_user

    password = asyncio.run(ensure_first_user(settings.resolved_database_url))
    if password is None:
        return
    url = f"http://{settings.api_host}:{settings.api_port}"
    body = f'{{"email": "{FIRST_EMAIL}", "password": "{password}"}}'
    typer.echo(
        f"[hyperoru] first user created: {FIRST_EMAIL}\n"
        f"[hyperoru] its password (shown only this once): {password}\n"
        f"[hyperoru] log in: curl -s -X POST {url}/api/users/login "
        f"-H 'Content-Type: application/json' -d '{body}'"
    )


@app.command("create-user")
def create_user(
    email: str,
    password: str = typer.Option(
        "", help="Its password (8+ characters); a random one is printed when left out"
    ),
    username: str = typer.Option("", help="Display name (default: the part before @)"),
) -> None:
    """Add a user (the first user also owns traders created before users existed)."""
    from pydantic import ValidationError

    from api.bootstrap import add_user, random_password
    from api.errors import ApiError
    from api.user_schemas import RegisterBody

    settings = get_settings()
    shown = not password
    password = password or random_password()
    try:
        body = RegisterBody(email=email, password=password, username=username or None)
        asyncio.run(
            add_user(settings.resolved_database_url, body.email, body.password, body.username)
        )
    except ValidationError as err:
        first = err.errors()[0]
        raise typer.BadParameter(f"{first['loc'][0]}: {first['msg']}") from None
    except ApiError as err:
        raise typer.BadParameter(err.message) from None
    typer.echo(f"user {body.email} created")
    if shown:
        typer.echo(f"password (shown only this once): {password}")


@app.command("rotate-master-key")
def rotate_master_key(
    rewrap_only: bool = typer.Option(
        False, help="only re-wrap stored secrets under the current primary key"
    ),
    grace_seconds: float = typer.Option(2.0, help="wait for in-flight writes between steps"),
) -> None:
    """Rotate the master key: new primary, every secret re-wrapped, old key retired."""
    from runtime.key_rotation import rewrap_to_primary
    from runtime.key_rotation import rotate_master_key as rotate
    from vault import MasterKeyError

    settings = get_settings()
    try:
        report = (
            rewrap_to_primary(settings, grace_seconds)
            if rewrap_only
            else rotate(settings, grace_seconds)
        )
    except MasterKeyError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"primary key {report.primary_key_id}: {report.rewrapped} secret(s) re-wrapped in "
        f"{report.passes} pass(es); {report.stale_left} left under old keys"
    )
    if report.retired:
        typer.echo(f"old key(s) {', '.join(report.old_key_ids)} removed from the key file")
    typer.echo("back up the key file now: it is the only way to open the stored secrets")
    if report.stale_left:
        raise typer.Exit(1)


@app.command("drop-unreadable-secrets")
def drop_unreadable_secrets(
    yes: bool = typer.Option(False, "--yes", help="really clear them (otherwise only count)"),
) -> None:
    """Clear the stored secrets whose master key is lost, so the stack can start again."""
    from runtime.secrets_check import drop_unreadable, unreadable
    from vault import MasterKeyError
    from vault.key_loading import master_key_wrapper

    settings = get_settings()
    try:
        wrapper = master_key_wrapper(settings)
    except MasterKeyError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    found = drop_unreadable(settings, wrapper) if yes else unreadable(settings, wrapper)
    if not found:
        typer.echo("every stored secret opens with the loaded master key(s); nothing to do")
        return
    counts = ", ".join(f"{n} under key {kid}" for kid, n in sorted(found.items()))
    if yes:
        typer.echo(f"cleared {counts}: enter those traders' LLM and exchange keys again")
    else:
        typer.echo(f"{counts} cannot be opened; run again with --yes to clear them")


@app.command("generate-key")
def generate_key() -> None:
    """Print a new random 32-byte key (for HYPERORU_MASTER_KEY or the payload codec)."""
    from vault import MasterKey

    typer.echo(MasterKey.generate().to_text())


@app.command()
def api() -> None:
    """Serve the API with uvicorn on HYPERORU_API_HOST:HYPERORU_API_PORT."""
    import uvicorn

    from api.log_config import uvicorn_log_config
    from api.main import create_app
    from api.ws.endpoint import uvicorn_options
    from runtime.devstack import check_api_host
    from runtime.secrets_check import require_openable_secrets

    settings = get_settings()
    check_api_host(settings)
    require_openable_secrets(settings, "api")
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level.lower(),
        log_config=uvicorn_log_config(settings.log_level),
        **uvicorn_options(settings),
    )


@app.command()
def worker() -> None:
    """Run a worker (trader workflows and activities)."""
    from runtime import worker as worker_module

    worker_module.run()


@app.command()
def run() -> None:
    """Bring up the whole stack on embedded defaults and supervise it until Ctrl-C."""
    from runtime.devstack import run_stack

    code = asyncio.run(run_stack(get_settings()))
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    app()
