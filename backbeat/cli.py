"""The `backbeat` command line (Typer)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from backbeat.cli_demo import register as register_demo
from backbeat.cli_imports import register as register_imports
from backbeat.cli_reports import register as register_reports
from backbeat.config import Settings, ensure_secret, load_settings
from backbeat.domain.accounts import Role
from backbeat.errors import BackbeatError, ConfigError
from backbeat.store.catalog.protocol import Catalog

app = typer.Typer(
    help="Backbeat: a self-hostable ad server for music promotion.", no_args_is_help=True
)
db_app = typer.Typer(help="Catalog database schema.", no_args_is_help=True)
users_app = typer.Typer(help="Accounts and API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
register_imports(app)
register_reports(app)
register_demo(app)
console = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    try:
        return ensure_secret(load_settings())
    except ConfigError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def _fail(exc: BackbeatError) -> typer.Exit:
    err.print(f"[red]{exc.message}[/red]")
    return typer.Exit(1)


@app.command()
def init(
    admin_email: Annotated[
        str, typer.Option(help="e-mail of the first admin")
    ] = "admin@backbeat.local",
    demo_if_empty: Annotated[
        bool,
        typer.Option(
            "--demo-if-empty",
            help="when the catalog has no campaigns, fill it with the demo network and "
            "14 days of simulated traffic (what `make run` does on a fresh machine)",
        ),
    ] = False,
) -> None:
    """Create the data directory, the signing secret and the schema; make the first admin.

    The admin's password and API token are printed once, the first time only."""
    from backbeat.store.catalog import open_catalog, upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_catalog_url)
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        if catalog.users.page(limit=1, where={"role": Role.ADMIN.value}).total:
            console.print(f"Backbeat is initialised in {settings.data_dir.resolve()}.")
            password = token = ""
        else:
            password, token = _first_admin(catalog, admin_email)
    except BackbeatError as exc:
        raise _fail(exc) from None
    finally:
        catalog.close()
    if token:
        console.print(
            "[bold green]Backbeat is ready.[/bold green] Keep these; they are shown once:"
        )
        console.print(f"  admin login:    {admin_email}")
        console.print(f"  admin password: {password}")
        console.print(f"  API token:      {token}")
    if demo_if_empty:
        from backbeat.cli_demo import demo_if_empty as fill_demo

        report = fill_demo(settings, console=console)
        if report is None:
            console.print("The catalog already has campaigns: no demo data added.")


def _first_admin(catalog: Catalog, admin_email: str) -> tuple[str, str]:
    """Create the first admin and an API token; return (password, token)."""
    from backbeat.web.auth import create_user, issue_token

    password = secrets.token_urlsafe(12)
    with catalog.transaction():
        user = create_user(catalog, email=admin_email, password=password, role=Role.ADMIN)
        assert user.id is not None
        _, token = issue_token(catalog, user.id, "created by backbeat init")
    return password, token


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    reload: Annotated[bool, typer.Option(help="reload on code changes (development)")] = False,
    access_log: Annotated[
        bool, typer.Option(help="log every request (costs ~150 µs a request on the hot path)")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="serving processes (default BACKBEAT_WORKERS, 1); above 1 one more process "
            "counts and stores events: use about one per core",
        ),
    ] = None,
) -> None:
    """Serve the ad server, tracking, the management API and the dashboard."""
    import uvicorn

    from backbeat.store.catalog.migrate import current_revision, head_revision

    settings = _settings()
    n = workers or settings.workers
    revision = current_revision(settings.resolved_catalog_url)
    if revision != head_revision():
        at = f"at revision {revision}" if revision else "has no schema yet"
        err.print(
            f"[red]The catalog ({settings.resolved_catalog_url}) {at}: run "
            "`backbeat init` (or `backbeat db upgrade`) first.[/red]"
        )
        raise typer.Exit(2)
    local = f"http://{host}:{port}"
    console.print(f"Backbeat on {local}  (API docs: {local}/api/docs)")
    if settings.base_url.rstrip("/") != local:
        # Links and the tag must name the public address; say which, in case it is stale.
        console.print(f"Tracking links and the ad tag use {settings.base_url} (BACKBEAT_BASE_URL)")
    if n > 1:
        if reload:
            err.print("[red]--reload serves one process: leave out --workers[/red]")
            raise typer.Exit(2)
        from backbeat.web.workers import check_port_free, serve_workers

        try:
            check_port_free(host, port)
        except OSError as exc:
            err.print(f"[red]Cannot listen on {host}:{port}: {exc.strerror or exc}[/red]")
            raise typer.Exit(1) from None
        console.print(f"{n} serving workers and one ingest process")
        serve_workers(settings, host=host, port=port, workers=n, access_log=access_log)
        return
    uvicorn.run(
        "backbeat.web.main:app_factory",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        log_level="info",
        proxy_headers=False,
        access_log=access_log,
    )


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="target revision")] = "head",
) -> None:
    """Apply catalog migrations (Alembic) up to REVISION."""
    from backbeat.store.catalog import upgrade
    from backbeat.store.catalog.migrate import current_revision

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_catalog_url, revision)
    console.print(f"catalog at revision {current_revision(settings.resolved_catalog_url)}")


@db_app.command("current")
def db_current() -> None:
    """Show the catalog's migration revision."""
    from backbeat.store.catalog.migrate import current_revision

    settings = _settings()
    console.print(current_revision(settings.resolved_catalog_url) or "no schema yet")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="login e-mail")],
    role: Annotated[Role, typer.Option(help="admin, advertiser or publisher")] = Role.ADVERTISER,
    advertiser_id: Annotated[int | None, typer.Option(help="for advertiser members")] = None,
    publisher_id: Annotated[int | None, typer.Option(help="for publisher members")] = None,
    password: Annotated[
        str | None, typer.Option(help="leave out to generate one and print it")
    ] = None,
) -> None:
    """Create a user."""
    from backbeat.store.catalog import open_catalog
    from backbeat.web.auth import create_user

    settings = _settings()
    secret = password or secrets.token_urlsafe(12)
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        user = create_user(
            catalog,
            email=email,
            password=secret,
            role=role,
            advertiser_id=advertiser_id,
            publisher_id=publisher_id,
        )
    except BackbeatError as exc:
        raise _fail(exc) from None
    finally:
        catalog.close()
    console.print(f"created user {user.id} {user.email} ({user.role.value})")
    if password is None:
        console.print(f"password: {secret}")


@users_app.command("list")
def users_list() -> None:
    """List users."""
    from backbeat.store.catalog import open_catalog
    from backbeat.store.catalog.protocol import iter_pages

    settings = _settings()
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        table = Table("id", "e-mail", "role", "advertiser", "publisher", "active")
        for u in iter_pages(catalog.users):
            table.add_row(
                str(u.id),
                u.email,
                u.role.value,
                str(u.advertiser_id or ""),
                str(u.publisher_id or ""),
                "yes" if u.active else "no",
            )
    finally:
        catalog.close()
    console.print(table)


@users_app.command("token")
def users_token(
    email: Annotated[str, typer.Argument(help="the user's e-mail")],
    name: Annotated[str, typer.Option(help="a label for the token")] = "cli",
    days: Annotated[int | None, typer.Option(help="expire after this many days")] = None,
) -> None:
    """Issue an API token for a user. It is printed once."""
    from backbeat.store.catalog import open_catalog
    from backbeat.web.auth import issue_token

    settings = _settings()
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        user = catalog.users.by_email(email.strip().lower())
        if user is None or user.id is None:
            err.print(f"[red]no user {email}[/red]")
            raise typer.Exit(1)
        expires = datetime.now(UTC) + timedelta(days=days) if days else None
        _, token = issue_token(catalog, user.id, name, expires_at=expires)
    except BackbeatError as exc:
        raise _fail(exc) from None
    finally:
        catalog.close()
    console.print(token)


if __name__ == "__main__":
    app()
