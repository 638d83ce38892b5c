"""
Code fingerprints of task classes: what counts as a change of a task's code (statements of the
class and of its analysis base classes) and what does not (comments, docstrings, formatting,
parameter definitions and a ``version`` attribute, which are compared on their own).
"""

from __future__ import annotations

import itertools
import os

from pipekit.provenance.fingerprint import (
    class_version,
    code_fingerprint,
    file_checksum,
    local_state,
    stat_files,
)

BASE = '''
import luigi
import pipekit as law


class Common(law.Task):
    def helper(self):
        return 1


class Histogram(Common):
    """Fills a histogram."""

    bins = luigi.IntParameter(default=60)
    version = "v1"

    def run(self):
        # the window
        x = self.helper() + 1
        return x
'''

_names = itertools.count()


def hashes(task_module, source: str) -> dict[str, str]:
    mod = task_module(f"fp_mod_{next(_names)}", source)
    return {k.rsplit(".", 1)[-1]: v for k, v in code_fingerprint(mod.Histogram).items()}


def test_the_fingerprint_covers_the_class_and_its_analysis_bases_only(task_module):
    fp = hashes(task_module, BASE)
    assert set(fp) == {"Histogram", "Common"}  # pipekit's and luigi's classes are not the analysis
    assert all(len(h) == 12 for h in fp.values())


def test_comments_docstrings_formatting_and_parameter_defaults_do_not_change_it(task_module):
    before = hashes(task_module, BASE)
    after = hashes(task_module, BASE.replace('"""Fills a histogram."""', '"""Another text."""')
                   .replace("# the window", "# a comment\n        # and another")
                   .replace("x = self.helper() + 1", "x = (\n            self.helper()\n"
                            "            + 1\n        )")
                   .replace("default=60", "default=80")
                   .replace('version = "v1"', 'version = "v2"'))
    assert after == before


def test_a_changed_statement_changes_the_class_and_a_changed_base_its_own_entry(task_module):
    before = hashes(task_module, BASE)
    changed = hashes(task_module, BASE.replace("self.helper() + 1", "self.helper() + 2"))
    assert changed["Histogram"] != before["Histogram"]
    assert changed["Common"] == before["Common"]
    base_changed = hashes(task_module, BASE.replace("return 1", "return 2"))
    assert base_changed["Common"] != before["Common"]
    assert base_changed["Histogram"] == before["Histogram"]


def test_a_version_attribute_is_read_but_a_version_parameter_is_left_to_the_parameters(task_module):
    mod = task_module("fp_versions", BASE + '''

class WithParam(law.Task):
    version = luigi.Parameter(default="v3")
''')
    assert class_version(mod.Histogram) == "v1"
    assert class_version(mod.WithParam) is None


def test_a_class_without_source_gets_a_byte_code_fingerprint():
    import luigi

    def run(self):
        return 41 + 1

    cls = type("Dynamic", (luigi.Task,), {"run": run, "__module__": "nowhere_module"})
    fp = code_fingerprint(cls)
    assert list(fp) == ["nowhere_module.Dynamic"] and fp["nowhere_module.Dynamic"].startswith("b")


def test_file_states_hold_size_mtime_and_optionally_the_adler32_checksum(tmp_path):
    import zlib

    from pipekit.target.local import LocalFileTarget

    f = tmp_path / "x.txt"
    f.write_bytes(b"hello world")
    st = local_state(str(f))
    assert (st.size, st.mtime, st.checksum) == (11, os.stat(f).st_mtime_ns, None)
    assert file_checksum(str(f)) == f"{zlib.adler32(b'hello world'):08x}"
    states = stat_files([LocalFileTarget(str(f)), LocalFileTarget(str(tmp_path / "no"))],
                        checksum=True)
    assert states[str(f)].checksum == file_checksum(str(f))
    assert states[str(tmp_path / "no")] is None
