"""Add up the JUnit XML files of the test passes into one closing line."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def main(paths: list[str]) -> int:
    """Print 'TOTAL: N passed, N failed, N skipped' and per-pass lines."""
    total = {"passed": 0, "failed": 0, "skipped": 0}
    for path in paths:
        root = ET.parse(path).getroot()  # noqa: S314
        suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
        tests = sum(int(s.get("tests", 0)) for s in suites)
        failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
        skipped = sum(int(s.get("skipped", 0)) for s in suites)
        passed = tests - failed - skipped
        name = path.rsplit("/", 1)[-1].removesuffix(".xml")
        print(f"  {name}: {passed} passed, {failed} failed, {skipped} skipped")
        total["passed"] += passed
        total["failed"] += failed
        total["skipped"] += skipped
    print(f"TOTAL: {total['passed']} passed, {total['failed']} failed, {total['skipped']} skipped")
    return 1 if total["failed"] or not total["passed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
