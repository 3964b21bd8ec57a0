"""hyperoru command line: `python -m cli run | migrate | api | worker`."""

from __future__ import annotations

import asyncio
import os
import sys

import typer

from settings import get_settings

app = typer.Typer(add_completion=False, help="hyperoru: durable AI traders on Temporal")


@app.command()
def migrate() -> None:
    """Apply database migrations (Alembic) to HYPERORU_DATABASE_URL."""
    from db.migrate import upgrade
    from secrets_config import master_key_wrapper

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    typer.echo("database is up to date")
    # Created here, once, before the API and worker start (they would otherwise race for it).
    master_key_wrapper(settings)


@app.command()
def api() -> None:
    """Serve the API with uvicorn on HYPERORU_API_HOST:HYPERORU_API_PORT."""
    import uvicorn

    from api.main import create_app

    settings = get_settings()
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level=settings.log_level.lower(),
    )


@app.command()
def worker() -> None:
    """Run a worker (trader workflows and activities)."""
    import worker as worker_module

    asyncio.run(worker_module.main())
    sys.stdout.flush()
    os._exit(0)


@app.command()
def run() -> None:
    """Bring up the whole stack on embedded defaults and supervise it until Ctrl-C."""
    from supervisor import run_stack

    code = asyncio.run(run_stack(get_settings()))
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    app()
