"""The command tree's plumbing: the root group (global options, errors to exit codes), the
`--json` option every command takes, and the App passed to commands."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import click

import wavis_sdk
from wavis_sdk._version import __version__
from wavis_sdk.cli._output import INTERRUPTED, App

F = TypeVar("F", bound=Callable[..., Any])


class RootGroup(click.Group):
    """Turns errors into their message and exit code, once, for every command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (wavis_sdk.WavisError, OSError, ValueError) as error:
            if isinstance(error, click.ClickException):
                raise
            app = ctx.obj if isinstance(ctx.obj, App) else App(None, False)
            ctx.exit(app.report_error(error))
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(INTERRUPTED)
        finally:
            if isinstance(ctx.obj, App):
                ctx.obj.close()


def root_group(function: Callable[..., Any]) -> click.Group:
    @click.group(cls=RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(__version__, prog_name="wavis",
                          message="%(prog)s %(version)s (wavis-sdk)")
    @click.option("--base-url", metavar="URL",
                  help="The server (default: WAVIS_BASE_URL, the config file, "
                       "http://127.0.0.1:8080).")
    @click.option("--json", "json_mode", is_flag=True,
                  help="Machine-readable output: one JSON document on stdout.")
    @click.pass_context
    @functools.wraps(function)
    def group(ctx: click.Context, base_url: str | None, json_mode: bool) -> None:
        ctx.obj = App(base_url, json_mode)
        function()

    return group


def _set_json(ctx: click.Context, _: click.Parameter, value: bool) -> bool:
    if value:
        app = ctx.find_object(App)
        if app is not None:
            app.json_mode = True
    return value


def json_option(function: F) -> F:
    """`--json` on a command (the same as `wavis --json ...`)."""
    return click.option("--json", "json_flag", is_flag=True, expose_value=False,
                        is_eager=True, callback=_set_json,
                        help="Machine-readable output: one JSON document on stdout.",
                        )(function)


def pass_app(function: F) -> F:
    """Hand the command its App as the first argument."""
    return cast(F, click.pass_obj(function))
