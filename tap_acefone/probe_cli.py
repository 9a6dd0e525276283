"""`acefone-probe` and `tap-acefone --probe`: the probe from the command line.

Same settings, same `--config` files (or `--config ENV`) as the tap; the markdown report goes
to stdout, the JSON report to `--output`, logs to stderr. A config the tap would refuse is
refused the same way: one line naming the setting, exit code 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from singer_sdk.exceptions import ConfigValidationError

from tap_acefone.errors import AcefoneError
from tap_acefone.probe import Probe
from tap_acefone.probe_report import to_json, to_markdown
from tap_acefone.tap import TapAcefone

OUTPUT_HELP = "Write the report as JSON to this file (the file to share with the project)."
RATE_HELP = (
    "Also find the account's rate limit: requests as fast as they go until the first HTTP "
    "429 (at most 300; it briefly uses the account's whole request budget)."
)


def run(config: Any, *, output: str | None, find_rate_limit: bool) -> None:
    """Probe the account `config` (the tap's parsed --config) describes; exit 1 on trouble."""
    try:
        probe = Probe(config.config, parse_env=config.parse_env, find_rate_limit=find_rate_limit)
        report = probe.run()
    except ConfigValidationError as exc:
        for error in exc.errors:
            TapAcefone.logger.error("Config validation error: %s", error)
        raise click.exceptions.Exit(1) from None
    except AcefoneError as exc:
        TapAcefone.logger.error("%s", exc)
        raise click.exceptions.Exit(1) from None
    click.echo(to_markdown(report))
    if output:
        Path(output).write_text(to_json(report), encoding="utf-8")
        TapAcefone.logger.info("Wrote the probe report to %s", output)


@click.command(name="acefone-probe", context_settings={"help_option_names": ["--help"]})
@click.option(
    "--config",
    multiple=True,
    default=(),
    is_eager=True,
    callback=TapAcefone.cb_config,
    help="The tap's configuration file(s), or ENV to read TAP_ACEFONE_* variables.",
)
@click.option("--output", type=click.Path(dir_okay=False, writable=True), help=OUTPUT_HELP)
@click.option("--find-rate-limit", is_flag=True, help=RATE_HELP)
def main(config: Any, output: str | None, find_rate_limit: bool) -> None:
    """Probe the Acefone API read-only and recommend a configuration for tap-acefone."""
    run(config, output=output, find_rate_limit=find_rate_limit)


def probe_options() -> list[click.Option]:
    """`--probe`, `--probe-output` and `--find-rate-limit` for the tap's own command.

    The two modifiers are eager and keep their values in the click context, so the tap's
    `invoke` never sees them; `--probe` runs the probe and exits before any sync.
    """

    def remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        ctx.meta[f"tap_acefone.{param.name}"] = value

    def on_probe(ctx: click.Context, _: click.Parameter, value: bool) -> None:
        if not value:
            return
        run(
            ctx.params["config"],
            output=ctx.meta.get("tap_acefone.probe_output"),
            find_rate_limit=bool(ctx.meta.get("tap_acefone.find_rate_limit")),
        )
        ctx.exit()

    return [
        click.Option(
            ["--probe-output"],
            is_eager=True,
            expose_value=False,
            callback=remember,
            type=click.Path(dir_okay=False),
            help=OUTPUT_HELP,
        ),
        click.Option(
            ["--find-rate-limit"],
            is_flag=True,
            is_eager=True,
            expose_value=False,
            callback=remember,
            help=RATE_HELP,
        ),
        click.Option(
            ["--probe"],
            is_flag=True,
            expose_value=False,
            callback=on_probe,
            help="Probe the API read-only, print a report and a recommended configuration.",
        ),
    ]
