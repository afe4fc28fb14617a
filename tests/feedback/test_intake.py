from __future__ import annotations

import pytest

from beacon.errors import InvalidInput, NotFound
from beacon.feedback.intake import decode_work, read_work


def test_reads_utf8_text_and_normalises_newlines(tmp_path):
    path = tmp_path / "essay.txt"
    path.write_bytes("\ufeffCaf\u00e9 essay\r\nsecond line".encode("utf-8"))
    name, text = read_work(str(path), max_chars=1000)
    assert (name, text) == ("essay.txt", "Caf\u00e9 essay\nsecond line")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "is empty"),
        (b"   \n\t  ", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("caf\u00e9".encode("latin-1"), "not UTF-8"),
        (b"x" * 101, "too large"),
    ],
)
def test_refuses_bad_work_with_a_clear_reason(raw, message):
    with pytest.raises(InvalidInput, match=message):
        decode_work(raw, "work.txt", max_chars=100)


def test_missing_file_and_unsupported_type(tmp_path):
    with pytest.raises(NotFound, match="no such file"):
        read_work(str(tmp_path / "nope.txt"), max_chars=100)
    pdf = tmp_path / "essay.pdf"
    pdf.write_bytes(b"%PDF-1.7")
    with pytest.raises(InvalidInput, match="only plain text"):
        read_work(str(pdf), max_chars=100)
