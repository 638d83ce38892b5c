"""
"What made each output": the report's side of the provenance records. The reader is the one
``pipekit.provenance`` provides (issue 16); here plain functions with its documented contract —
``read_record(target) -> mapping or None`` — stand in for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipekit.report.html import OutputRecords, render_report
from pipekit.report.provenance import (
    provenance_checker,
    provenance_of,
    provenance_reader,
    verdict_text,
)


@dataclass
class _Record:
    family: str
    code: dict
    host: str


def test_records_of_any_shape_become_dicts_and_broken_ones_none():
    assert provenance_of(lambda t: {"family": "A"}, "x") == {"family": "A"}
    assert provenance_of(lambda t: _Record("A", {"A": "c0ffee"}, "n1"), "x") == {
        "family": "A", "code": {"A": "c0ffee"}, "host": "n1"}
    assert provenance_of(lambda t: None, "x") is None

    def broken(t):
        raise OSError("unreadable record")

    assert provenance_of(broken, "x") is None


def test_the_section_shows_each_record_and_says_when_none_exists():
    with_records = OutputRecords("Squares", [(0, "/d/0.json", {"host": "n1", "code": {"Sq": "c0ffee"},
                                                               "start": 1_800_000_000.0,
                                                               "status": "outdated: code changed"}),
                                             (1, "/d/1.json", None)], n_outputs=2)
    html = render_report([], "T", [with_records, OutputRecords("Other", [(0, "/e/0.json", None)], 1)])
    section = html.split('id="provenance"', 1)[1]
    assert "1 of 2 outputs looked at (of 2) have a record" in section
    assert ('status: outdated: code changed\ncode: {&quot;Sq&quot;: &quot;c0ffee&quot;}\nhost: n1\n'
            'start: 2027-01-15T08:00:00.000Z') in section
    assert "None of the 1 outputs looked at has a record" in section
    assert "No provenance records" in render_report([], "T", None)


def test_a_verdict_reads_as_its_status_and_reasons():
    @dataclass
    class Verdict:
        status: str
        reasons: list

    assert verdict_text(lambda t: Verdict("outdated", ["code changed (Sq)", "input x newer"]), "x") == \
        "outdated: code changed (Sq); input x newer"
    assert verdict_text(lambda t: Verdict("current", []), "x") == "current"
    assert verdict_text(lambda t: 1 / 0, "x") is None


def test_the_reader_and_checker_are_those_of_the_provenance_package():
    import pipekit.provenance

    assert provenance_reader() is pipekit.provenance.read_record
    assert provenance_checker() is pipekit.provenance.check
