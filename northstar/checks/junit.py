"""A JUnit XML report of test results, the format CI systems (GitHub, GitLab, Jenkins) display.

One ``<testcase>`` per test, grouped by what it tests: a failing test carries a ``<failure>`` with the message and
the first failing rows, a test that could not run an ``<error>``, a skipped one ``<skipped>``; a warning passes with
its message in ``<system-out>``.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from northstar.engine.execute import NodeResult
from northstar.nodes import TestNode
from northstar.render.manifest import Manifest


def junit_tree(manifest: Manifest, results: Iterable[NodeResult], elapsed: float) -> ET.ElementTree:
    """The report as an element tree (tests only; models and seeds are not test cases)."""
    project = manifest.project.config.name
    tests = [r for r in results if r.unique_id in manifest.nodes and manifest.nodes[r.unique_id].is_test]
    counts = {status: sum(1 for r in tests if r.status == status) for status in ("fail", "error", "skipped")}
    root = ET.Element("testsuites", name=project, tests=str(len(tests)), time=f"{elapsed:.3f}")
    suite = ET.SubElement(
        root,
        "testsuite",
        name=f"{project} tests",
        tests=str(len(tests)),
        failures=str(counts["fail"]),
        errors=str(counts["error"]),
        skipped=str(counts["skipped"]),
        time=f"{elapsed:.3f}",
    )
    for result in tests:
        node = manifest.nodes[result.unique_id]
        assert isinstance(node, TestNode), node
        attached = node.attached_node
        target = (
            manifest.nodes[attached].name if attached is not None and attached in manifest.nodes else node.test_type
        )
        case = ET.SubElement(
            suite,
            "testcase",
            name=node.name,
            classname=f"{project}.{target}",
            file=node.path,
            time=f"{result.elapsed:.3f}",
        )
        first_line = result.message.splitlines()[0] if result.message else result.status
        if result.status == "fail":
            ET.SubElement(case, "failure", message=first_line, type="fail").text = result.message
        elif result.status == "error":
            ET.SubElement(case, "error", message=first_line, type="error").text = result.message
        elif result.status == "skipped":
            ET.SubElement(case, "skipped", message=first_line)
        elif result.status == "warn":
            ET.SubElement(case, "system-out").text = result.message
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(path: Path, manifest: Manifest, results: Iterable[NodeResult], elapsed: float) -> Path:
    """Write the report to ``path`` through a temporary file, so CI never reads half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    junit_tree(manifest, results, elapsed).write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)
    return path
