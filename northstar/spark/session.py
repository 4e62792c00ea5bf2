"""Start (or reach) the Spark a target names, configured so that Spark SQL means what DuckDB SQL means.

A target either runs Spark in this process's own JVM (``master: local[*]``, through PySpark) or connects to a running
Spark Connect server (``remote: sc://host:15002``), which is how a real cluster is reached. Whatever goes wrong on the
way (no PySpark, no Java, an address that does not answer) is one :class:`~northstar.errors.ProjectError` naming the
target and what to do, raised within seconds: never a JVM stack trace, never a client retrying for minutes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from northstar.errors import ProjectError
from northstar.project.settings import Target

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Settings that make Spark answer as DuckDB does. A target's own `conf:` may add to them, not change them.
PARITY_CONF = {
    # DuckDB's TIMESTAMP has no time zone: Spark's TIMESTAMP_NTZ, read and printed in UTC.
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.session.timeZone": "UTC",
    # DuckDB answers NULL for a division by zero; Spark's ANSI mode would fail the query instead.
    "spark.sql.ansi.enabled": "false",
}
QUIET_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}
# A local Spark's defaults for joins. Before a query runs, Spark sizes each side from its compressed Parquet, which
# makes one column of a 10M-row table look smaller than the 10 MB broadcast limit: the driver then ran out of memory
# broadcasting fct_communications in a data test of the example at 1M users. Joins are broadcast only when adaptive
# execution has measured the side at run time. A target's conf: replaces these.
LOCAL_JOIN_CONF = {
    "spark.sql.autoBroadcastJoinThreshold": "-1",
    "spark.sql.adaptive.autoBroadcastJoinThreshold": "10MB",
}
# `-v` (or this logger at DEBUG in the Python API): a local Spark's JVM writes its start-up lines and warnings to
# stderr; otherwise they go to <location>/_northstar/spark.log and only Northstar's own messages are printed.
ENGINE_LOGS = logging.getLogger("northstar.engine_logs")
CONNECT_TIMEOUT = 5.0  # seconds to wait for a Spark Connect address to accept a TCP connection
ANSWER_TIMEOUT = 10.0  # then for what accepted it to answer as a gRPC (Spark Connect) server


def start(target: Target, app_name: str = "northstar") -> SparkSession:
    """A SparkSession for ``target``; a :class:`ProjectError` saying what to do when Spark cannot be had."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ProjectError(
            f"Target '{target.name}' runs on Spark, but PySpark is not installed. Install it with "
            "`pip install 'northstar[spark]'` (or `.venv/bin/pip install -e '.[spark]'` in a clone)."
        ) from None
    spark = target.spark
    assert spark is not None, "a spark target has spark settings"
    overrides = dict(spark.conf)
    clash = sorted(key for key in overrides if key in PARITY_CONF and overrides[key] != PARITY_CONF[key])
    if clash:
        raise ProjectError(
            f"Target '{target.name}' sets {', '.join(clash)}, which Northstar fixes so that Spark answers as DuckDB "
            "does. Remove it from the target's conf:."
        )
    # PySpark logs every failed query's context as a JSON line of its own; Northstar reports the failure itself.
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)
    builder = SparkSession.builder.appName(app_name)
    if spark.remote:
        _check_reachable(target.name, spark.remote)
        builder = builder.remote(spark.remote)
    else:
        if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
            raise ProjectError(
                f"Target '{target.name}' starts a local Spark ({spark.master}), which needs Java 17 or newer, and no "
                "`java` is on the PATH (nor JAVA_HOME set). Install a JDK (e.g. `apt-get install openjdk-17-jre`), "
                "or point the target at a Spark Connect server with `remote: sc://host:15002`."
            )
        builder = builder.master(spark.master)
        local = {**QUIET_CONF, **LOCAL_JOIN_CONF, "spark.sql.shuffle.partitions": str(_partitions(spark.master))}
        if not _driver_memory_set(overrides):
            local["spark.driver.memory"] = driver_memory()
        for key, value in local.items():
            builder = builder.config(key, value)
        builder = builder.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={_log_config()}")
        builder = builder.config("spark.sql.warehouse.dir", str(spark.location / "_spark"))
    for key, value in {**overrides, **PARITY_CONF}.items():
        builder = builder.config(key, value)
    verbose = ENGINE_LOGS.isEnabledFor(logging.DEBUG)
    log = spark.location / "_northstar" / "spark.log"
    try:
        with contextlib.nullcontext() if verbose or spark.remote else _stderr_to(log):
            session = builder.getOrCreate()
        if spark.remote:
            session.version  # noqa: B018 - the first round trip: fails here, not in the middle of a build
        else:
            session.sparkContext.setLogLevel("WARN" if verbose else "ERROR")
    except Exception as error:  # PySpark raises its own errors, Py4J's and gRPC's: all mean "no Spark here"
        seen = "" if verbose or spark.remote else f" The JVM's output is in {log}."
        raise ProjectError(
            f"Target '{target.name}' could not start Spark ({spark.describe()}): {error_text(error)} "
            f"Check the target's master/remote and that Java 17+ is installed.{seen}"
        ) from None
    if spark.remote:  # settings a Spark Connect session takes at run time
        for key, value in {**overrides, **PARITY_CONF}.items():
            session.conf.set(key, value)
    return session


@contextlib.contextmanager
def _stderr_to(log: Path) -> Iterator[None]:
    """Point this process's stderr (file descriptor 2) at ``log`` while a local Spark starts: the JVM it launches
    inherits it, so the JVM's own lines (``WARNING: Using incubator modules``...) and later log lines go there."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(log, "a", encoding="utf-8") as handle:
            os.dup2(handle.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def error_text(error: BaseException) -> str:
    """The first line of a Spark error, without its SQLSTATE and plan: what a user needs to read.

    An error the JVM raised outside Spark SQL's own (out of memory, a failed job) comes through Py4J, whose first
    line only names the call: its second line is the Java exception.

    >>> error_text(RuntimeError("An error occurred while calling o1.collectToPython.\\n: java.lang.OutOfMemoryError: "
    ...                         "Java heap space\\n\\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)"))
    'java.lang.OutOfMemoryError: Java heap space'
    """
    text = str(error).strip()
    lines = text.splitlines() if text else [type(error).__name__]
    first = lines[0]
    if first.startswith("An error occurred while calling ") and len(lines) > 1:
        first = lines[1].lstrip(": ").strip()
    return re.sub(r"\s*SQLSTATE: \w+;?.*$", "", first)


def driver_memory() -> str:
    """The heap of a local Spark's driver, which runs every task: a quarter of this machine's memory, from 1 to 8 GB.

    Spark's own default (1 GB) fails the example project at 100,000 users; a target's ``spark.driver.memory`` (or
    ``--driver-memory`` in ``PYSPARK_SUBMIT_ARGS``, or ``SPARK_DRIVER_MEMORY``) replaces this.
    """
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{min(8, max(1, total // 4 // 2**30))}g"


def _driver_memory_set(conf: dict[str, str]) -> bool:
    return (
        "spark.driver.memory" in conf
        or "--driver-memory" in os.environ.get("PYSPARK_SUBMIT_ARGS", "")
        or bool(os.environ.get("SPARK_DRIVER_MEMORY"))
    )


def _partitions(master: str) -> int:
    """Shuffle partitions for a local master: Spark's default of 200 makes small data slow on a laptop."""
    cores = master.removeprefix("local[").removesuffix("]")
    if cores.isdigit():
        return max(2, 2 * int(cores))
    return max(2, 2 * (os.cpu_count() or 1))


def _log_config() -> Path:
    return Path(__file__).with_name("log4j2.properties")


def _check_reachable(name: str, remote: str) -> None:
    """Spark Connect clients retry an address that does not answer for minutes: try it once, quickly, first."""
    parsed = urlparse(remote.replace("sc://", "http://", 1))
    if not remote.startswith("sc://") or not parsed.hostname:
        raise ProjectError(
            f"Target '{name}' has remote {remote!r}; a Spark Connect address looks like sc://host:15002."
        )
    port = parsed.port or 15002
    try:
        with socket.create_connection((parsed.hostname, port), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as error:
        raise ProjectError(
            f"Target '{name}': no Spark Connect server answers at {parsed.hostname}:{port} ({error}). Start "
            "one (`$SPARK_HOME/sbin/start-connect-server.sh`), or correct the target's remote:."
        ) from None
    # Something listens; a process that accepts connections and never answers (another service's port, a proxy with
    # no server behind it, a server that hangs) would keep the client retrying for minutes: ask for a gRPC handshake.
    try:
        import grpc  # type: ignore[import-untyped]  # Spark Connect's client (the `spark` extra): only for a remote
    except ImportError:
        raise ProjectError(
            f"Target '{name}' reaches Spark through Spark Connect, whose client is not installed. Install it with "
            "`pip install 'northstar[spark]'` (PySpark with its `connect` extra)."
        ) from None
    settings = remote.split("/;", 1)[1].lower() if "/;" in remote else ""
    address = f"{parsed.hostname}:{port}"
    secure = "use_ssl=true" in settings or "token=" in settings
    channel = grpc.secure_channel(address, grpc.ssl_channel_credentials()) if secure else grpc.insecure_channel(address)
    try:
        grpc.channel_ready_future(channel).result(timeout=ANSWER_TIMEOUT)
    except grpc.FutureTimeoutError:
        raise ProjectError(
            f"Target '{name}': something accepts connections at {address} but does not answer as a Spark Connect "
            f"server within {ANSWER_TIMEOUT:.0f} s. Check that the server runs and listens on that port (15002 by "
            "default), or correct the target's remote:."
        ) from None
    finally:
        channel.close()


def stop(session: Any) -> None:
    """Stop a local session (its JVM goes with the process anyway); leave a remote server running."""
    with contextlib.suppress(Exception):  # best effort: the build's outcome is already decided
        session.stop()
