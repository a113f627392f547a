"""The lpot_ux launcher: arguments, logging, the server on eventlet."""

import argparse
import errno
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import urllib.request
import warnings
import webbrowser
from pathlib import Path
from typing import Any

from lpot_ux.errors import LpotUxError
from lpot_ux.settings import SETTINGS

logger = logging.getLogger("lpot_ux")

PORT_ATTEMPTS = 50  # ports tried after a busy default one
DEMO_KINDS = ("mobilenet_v2", "tiny")


class CLIError(LpotUxError):
    """The launcher cannot do what it was asked."""


def port_number(text: str) -> int:
    """Return a TCP port number given on the command line."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0 to 65535; 0 picks a free one)")

    return port


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the flags of the server to a parser."""
    parser.add_argument("--address", default=SETTINGS["ADDRESS"].default, help=SETTINGS["ADDRESS"].help)
    parser.add_argument(
        "--port", type=port_number, default=None, help="Port to listen on (default 5000, or the next free one)."
    )
    parser.add_argument(
        "--workspace",
        default=os.environ.get("LPOT_UX_WORKSPACE", SETTINGS["WORKSPACE"].default),
        help=SETTINGS["WORKSPACE"].help + " Env: LPOT_UX_WORKSPACE.",
    )
    parser.add_argument(
        "--token", default=os.environ.get("LPOT_UX_TOKEN"), help=SETTINGS["TOKEN"].help + " Env: LPOT_UX_TOKEN."
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="Let a web page from ORIGIN (e.g. http://localhost:8888) call the API.",
    )
    parser.add_argument("--open-browser", action="store_true", help="Open the web page once the server answers.")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every lpot_ux command."""
    parser = argparse.ArgumentParser(
        prog="lpot_ux", description="Benchmark an optimized model against its original on this CPU."
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="-v: lifecycle, -vv: debug.")
    add_server_arguments(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser("demo-models", help="Make an fp32 demo model and its int8 twin.")
    demo.add_argument("--kind", choices=DEMO_KINDS, default="mobilenet_v2", help="Which demo pair to make.")
    demo.add_argument("--output", default=None, help="Folder for the models (default: WORKSPACE/models).")

    from lpot_ux.terminal import add_benchmark_arguments

    add_benchmark_arguments(commands.add_parser("benchmark", help="Benchmark two models from the terminal."))

    return parser


class RedactTokens(logging.Filter):
    """Hide tokens in request lines, so that a shared log does not give access away."""

    TOKEN_IN_QUERY = re.compile(r"(token=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace every token=... in the message."""
        record.msg = self.TOKEN_IN_QUERY.sub(r"\1***", str(record.msg))

        return True


def configure_logging(verbosity: int) -> None:
    """Send lpot_ux's log to stderr at the level asked for."""
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens())
    logger.addHandler(handler)
    logger.setLevel(level)


def import_eventlet():
    """Import eventlet without its deprecation notice, which a user cannot act on."""
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet
    import eventlet.wsgi

    return eventlet


def demo_curl_line(base_url: str, token: str, workspace: Path) -> str | None:
    """Return a ready curl command benchmarking the demo pair, None without it."""
    models = workspace / "models"
    fp32, int8 = models / "mobilenet_v2_fp32.pb", models / "mobilenet_v2_int8.pb"
    if not (fp32.exists() and int8.exists()):
        return None
    body = json.dumps(
        {
            "id": "demo",
            "input_model": {"precision": "fp32", "path": str(fp32)},
            "optimized_model": {"precision": "int8", "path": str(int8)},
        }
    )

    return (
        f"curl -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' "
        f"-d '{body}' {base_url}/api/benchmark"
    )


def bind_port(address: str, port: int | None) -> socket.socket:
    """Return a listening socket: on the port given, else on 5000 or the next free one."""
    eventlet = import_eventlet()

    candidates = [port] if port is not None else range(
        SETTINGS["PORT"].default, SETTINGS["PORT"].default + PORT_ATTEMPTS
    )
    for candidate in candidates:
        try:
            # Without SO_REUSEPORT: another server on the port must be an error,
            # not a silent partner that answers half of the requests.
            return eventlet.listen((address, candidate), reuse_port=False)
        except OSError as error:
            if port is not None or error.errno != errno.EADDRINUSE:
                raise CLIError(f"cannot listen on {address}:{candidate}: {error.strerror}.") from error
            logger.info("Port %d is taken, trying the next one", candidate)

    raise CLIError(f"no free port on {address} between {candidates[0]} and {candidates[-1]}.")


def open_browser_when_ready(url: str, probe_url: str) -> None:
    """Open the default browser at url as soon as the server answers."""

    def wait_and_open() -> None:
        for _ in range(100):
            try:
                urllib.request.urlopen(probe_url, timeout=1).close()
                break
            except OSError:
                threading.Event().wait(0.1)
        webbrowser.open(url)

    threading.Thread(target=wait_and_open, daemon=True).start()


def warm_up_system_info() -> None:
    """Read the processor's description in a thread now, so no request waits for it."""
    from lpot_ux.components.system.info import read_processor

    # A real thread (eventlet does not patch this one): py-cpuinfo blocks for
    # a second or two.
    threading.Thread(target=read_processor, daemon=True).start()


def install_signal_handlers(app: Any) -> None:
    """Stop running workers and record their run as interrupted on SIGINT, SIGTERM or SIGHUP."""

    def stop(signum: int, frame: Any) -> None:
        logger.info("Received %s, stopping", signal.Signals(signum).name)
        app.extensions["lpot_ux"].shutdown()
        logging.shutdown()
        sys.stdout.flush()
        # Leave at once: under eventlet an exception raised here would land in
        # whichever green thread was running, not in the server loop.
        os._exit(0)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)


def serve(args: argparse.Namespace) -> int:
    """Start the server and block until it is stopped."""
    eventlet = import_eventlet()
    from lpot_ux.web import create_app

    listener = bind_port(args.address, args.port)
    port = listener.getsockname()[1]
    app = create_app(
        {
            "ADDRESS": args.address,
            "PORT": port,
            "WORKSPACE": args.workspace,
            "TOKEN": args.token,
            "ALLOWED_ORIGINS": tuple(args.allow_origin),
        }
    )
    host = f"[{args.address}]" if ":" in args.address else args.address
    base_url = f"http://{host}:{port}"
    url = f"{base_url}/?token={app.config['TOKEN']}"
    install_signal_handlers(app)
    warm_up_system_info()
    print(f"lpot_ux is serving at {url}", flush=True)
    curl = demo_curl_line(base_url, app.config["TOKEN"], app.config["WORKSPACE"])
    if curl:
        print(f"Benchmark the demo pair with:\n  {curl}", flush=True)
    if args.open_browser:
        open_browser_when_ready(url, f"http://{host}:{port}/")
    eventlet.wsgi.server(listener, app, log_output=args.verbose >= 2, log=logging.getLogger("lpot_ux.http"))

    return 0


def make_demo_models(args: argparse.Namespace) -> int:
    """Make a demo model pair (fp32 and int8) and print their paths."""
    from lpot_ux.components.demo.models import build_demo_models

    output = Path(args.output or Path(args.workspace).expanduser() / "models")
    try:
        models = build_demo_models(output, kind=args.kind)
    except OSError as error:
        raise CLIError(f"cannot write the demo models into '{output}': {error.strerror or error}.") from error
    for precision, path in models.items():
        print(f"{precision}: {path}")

    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the lpot_ux command line; return the process exit code."""
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        if args.command == "demo-models":
            return make_demo_models(args)
        if args.command == "benchmark":
            from lpot_ux.terminal import run_benchmark_command

            return run_benchmark_command(args)
        return serve(args)
    except LpotUxError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
