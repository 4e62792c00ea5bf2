"""``metrics docs``: a static site in ``target/docs/`` that opens offline from ``index.html``.

A catalog of models, sources, seeds, semantic models and metrics (docs, columns with types and tests, compiled SQL,
the YAML), an interactive lineage graph down to columns (cytoscape.js with the dagre layout) and a chart of each
metric's values over time (uPlot). The libraries are bundled under ``assets/vendor/`` (see its README), the data is
``data.js``; nothing is fetched from a network.

>>> index = write_site(manifest)   # doctest: +SKIP
>>> serve(index.parent, 8080)      # doctest: +SKIP
"""

from __future__ import annotations

import functools
import http.server
from collections.abc import Callable
from pathlib import Path

from northstar.docs.site import site_data, write_site
from northstar.errors import ProjectError


def make_server(folder: Path, port: int = 8080) -> http.server.ThreadingHTTPServer:
    """An HTTP server for ``folder`` on 127.0.0.1 only (port 0: any free port), not yet serving."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as error:
        raise ProjectError(f"Cannot serve on port {port}: {error.strerror}. Pick another with --port.") from None


def serve(folder: Path, port: int = 8080, echo: Callable[[str], None] = print) -> None:
    """Serve ``folder`` on http://127.0.0.1:PORT until interrupted (only this machine can reach it)."""
    with make_server(folder, port) as server:
        echo(f"Serving {folder} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            echo("Stopped.")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the standard library's name
        pass


__all__ = ["make_server", "serve", "site_data", "write_site"]
