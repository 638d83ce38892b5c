"""pipekit.streams: TeeStream writes to several streams and files, FilteredStream filters."""

from __future__ import annotations

import io

from pipekit.streams import FilteredStream, TeeStream


def test_tee_writes_to_streams_and_files_and_closes_only_its_files(tmp_path):
    log = tmp_path / "run.log"
    screen = io.StringIO()
    with TeeStream(str(log), screen) as tee:
        tee.write("line 1\n")
        tee.write("line 2\n")
    assert log.read_text() == screen.getvalue() == "line 1\nline 2\n"
    assert not screen.closed
    tee.write("after close\n")  # ignored, as law's
    assert "after close" not in screen.getvalue()


def test_filtered_stream_passes_only_what_the_function_accepts():
    out = io.StringIO()
    stream = FilteredStream(out, lambda text: "password" not in text)
    stream.write("user: ana\n")
    stream.write("password: secret\n")
    assert out.getvalue() == "user: ana\n"
