"""`wavis`: the WAVIS API from a terminal, on the SDK. Blind mode by default: keys are made,
values encrypted and results decrypted on this machine; the server computes on ciphertexts.

Every command takes `--json` (one JSON document on stdout, nothing else there); progress
bars and remarks go to stderr. Errors print their code, message and request id and exit
with the code of their family (`wavis_sdk.cli._output.EXIT_CODES`).
"""

from __future__ import annotations

from typing import Any

import click

import wavis_sdk
from wavis_sdk.cli._app import json_option, pass_app, root_group
from wavis_sdk.cli._ckks import ckks
from wavis_sdk.cli._config import read_config, write_config
from wavis_sdk.cli._inference import models
from wavis_sdk.cli._keys import keys
from wavis_sdk.cli._output import App
from wavis_sdk.cli._tfhe import tfhe
from wavis_sdk.cli._usage import usage
from wavis_sdk.cli._webhooks import webhooks

__all__ = ["cli", "main"]


@root_group
def cli() -> None:
    """WAVIS, FHE as a service: keys, encrypted vectors and bits, models, usage, webhooks.

    Log in once (`wavis login`) or set WAVIS_API_KEY; WAVIS_BASE_URL or --base-url names
    the server (default http://127.0.0.1:8080).
    """


@cli.command()
@click.option("--api-key", help="The key (wvs_...); asked for when not given.")
@click.option("--no-verify", is_flag=True, help="Store the key without asking the server.")
@json_option
@pass_app
def login(app: App, api_key: str | None, no_verify: bool) -> None:
    """Store an API key (and --base-url) in the config file, mode 0600.

    WAVIS_API_KEY, when set, still wins over the stored key.
    """
    settings = app.settings()
    if not api_key:
        api_key = click.prompt("API key", hide_input=True, err=True).strip()
    if not api_key:
        raise click.BadParameter("an API key is needed", param_hint="--api-key")
    if not no_verify:
        with app.waiting(f"Checking the key with {settings.base_url}"), \
                wavis_sdk.Client(api_key, settings.base_url, max_retries=1) as client:
            try:
                client.keys.list(limit=1).__next__()
            except StopIteration:
                pass
            except wavis_sdk.PermissionDeniedError:
                pass  # authenticated; its role just cannot list keys (a trial key)
    stored = read_config(settings.config_file)
    stored["api_key"] = api_key
    if app.base_url_option:
        stored["base_url"] = app.base_url_option
    write_config(settings.config_file, stored)
    result: dict[str, Any] = {"config_file": str(settings.config_file),
                              "base_url": stored.get("base_url", settings.base_url),
                              "key_prefix": api_key[:16], "verified": not no_verify}
    app.emit(result, lambda: app.out.print(
        f"Logged in to {result['base_url']} as {result['key_prefix']}... "
        f"(key stored in {result['config_file']}, mode 0600)"))


@cli.command()
@json_option
@pass_app
def logout(app: App) -> None:
    """Remove the stored API key from the config file."""
    settings = app.settings()
    stored = read_config(settings.config_file)
    removed = stored.pop("api_key", None) is not None
    if removed:
        write_config(settings.config_file, stored)
    app.emit({"config_file": str(settings.config_file), "removed": removed},
             lambda: app.out.print("Logged out." if removed else "No key was stored."))


cli.add_command(keys)
cli.add_command(ckks)
cli.add_command(tfhe)
cli.add_command(usage)
cli.add_command(webhooks)
cli.add_command(models)


def main() -> None:
    cli(prog_name="wavis")
