"""Digest and BlobRange: known answers, parsing, value semantics."""

from __future__ import annotations

import io
import pickle

import pytest
from hypothesis import given, strategies as st

from zako.cas import BlobRange, BlobRangeError, CasError, Digest, InvalidDigestError
from zako.exceptions import ZakoError

# Official BLAKE3 test vectors (input byte i is i % 251; first 32 bytes of output).
OFFICIAL_VECTORS = [
    (0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"),
    (1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"),
    (63, "e9bc37a594daad83be9470df7f7b3798297c3d834ce80ba85d6e207627b7db7b"),
    (64, "4eed7141ea4a5cd4b788606bd23f46e212af9cacebacdc7d1f4c6dc7f2511b98"),
    (1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"),
    (1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"),
]


def vector_input(n: int) -> bytes:
    return bytes(i % 251 for i in range(n))


@pytest.mark.parametrize("length,expected", OFFICIAL_VECTORS)
def test_known_answers_from_bytes(length, expected):
    d = Digest.of_bytes(vector_input(length))
    assert d.hex == expected
    assert d.size_bytes == length
    assert d.blake3 == bytes.fromhex(expected)
    assert str(d) == f"{expected}/{length}"


@pytest.mark.parametrize("length,expected", OFFICIAL_VECTORS)
def test_known_answers_from_file_and_stream(tmp_path, length, expected):
    p = tmp_path / "f"
    p.write_bytes(vector_input(length))
    assert Digest.of_file(p) == Digest(length, expected)
    assert Digest.of_file(str(p)).hex == expected
    assert Digest.of_stream(io.BytesIO(vector_input(length))).hex == expected


def test_of_file_streams_across_chunks(tmp_path):
    data = vector_input(3 * (1 << 20) + 17)  # several 1 MiB chunks plus a tail
    p = tmp_path / "big"
    p.write_bytes(data)
    assert Digest.of_file(p) == Digest.of_bytes(data)
    assert Digest.of_stream(io.BytesIO(data), chunk_bytes=4096) == Digest.of_bytes(data)


def test_of_bytes_accepts_buffers_and_rejects_str():
    data = b"abc" * 100
    assert Digest.of_bytes(bytearray(data)) == Digest.of_bytes(memoryview(data)) == Digest.of_bytes(data)
    with pytest.raises(TypeError):
        Digest.of_bytes("abc")


def test_of_file_missing_raises_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        Digest.of_file(tmp_path / "nope")


def test_equality_and_hash_use_both_fields():
    h = OFFICIAL_VECTORS[2][1]
    a, b, c = Digest(5, h), Digest(5, bytes.fromhex(h)), Digest(6, h)
    other = Digest(5, OFFICIAL_VECTORS[3][1])
    assert a == b and hash(a) == hash(b)
    assert a != c and a != other
    assert len({a, b, c, other}) == 3
    assert a != (5, bytes.fromhex(h))


def test_digest_is_immutable_and_picklable():
    d = Digest.of_bytes(b"x")
    with pytest.raises(AttributeError):
        d.size_bytes = 3
    assert pickle.loads(pickle.dumps(d)) == d
    assert "Digest" in repr(d) and str(d) in repr(d)


def test_parse_roundtrip_and_uppercase():
    d = Digest.of_bytes(b"round trip")
    assert Digest.parse(str(d)) == d
    assert Digest.parse(f"{d.hex.upper()}/{d.size_bytes}") == d


@pytest.mark.parametrize("text", [
    "", "/", "abc/1", "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
    "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262/",
    "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262/-1",
    "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262/ 1",
    "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f326/0",
    "zf1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262/0",
    "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262/1/2",
])
def test_parse_rejects_bad_text_naming_it(text):
    with pytest.raises(InvalidDigestError) as info:
        Digest.parse(text)
    assert isinstance(info.value, (ValueError, CasError, ZakoError))
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("size,h", [(-1, "00" * 32), (1.0, "00" * 32), (True, "00" * 32),
                                    (1, "00" * 31), (1, b"\0" * 31), (1, "g" * 64), (1, 7)])
def test_constructor_rejects_bad_values(size, h):
    with pytest.raises(InvalidDigestError):
        Digest(size, h)


@given(st.binary(max_size=2000))
def test_parse_str_roundtrip_property(data):
    d = Digest.of_bytes(data)
    assert Digest.parse(str(d)) == d
    assert d.size_bytes == len(data)


# --- BlobRange ------------------------------------------------------------------


def test_range_defaults_and_end():
    r = BlobRange()
    assert (r.start, r.length, r.end) == (0, None, None)
    assert r == BlobRange.full() and r.is_full
    r = BlobRange(10, 20)
    assert (r.start, r.length, r.end) == (10, 20, 30)
    assert hash(r) == hash(BlobRange(10, 20))


@pytest.mark.parametrize("args", [(0, 0), (5, 0), (-1, None), (0, -3), (1.5, None), (0, 2.0),
                                  (True, None), (0, False)])
def test_range_rejects_bad_values(args):
    with pytest.raises(BlobRangeError) as info:
        BlobRange(*args)
    assert isinstance(info.value, ValueError) and isinstance(info.value, CasError)


def test_range_zero_length_message_names_it():
    with pytest.raises(BlobRangeError, match="length"):
        BlobRange(3, 0)


def test_is_out_of_span():
    r = BlobRange(10, 20)
    assert not r.is_out_of_span(30)
    assert r.is_out_of_span(29)
    assert r.is_out_of_span(5)
    assert not BlobRange().is_out_of_span(0)
    assert not BlobRange().is_out_of_span(100)
    assert not BlobRange(50).is_out_of_span(100)
    assert not BlobRange(100).is_out_of_span(100)  # open range at the end: empty read
    assert BlobRange(101).is_out_of_span(100)
    assert BlobRange(100, 1).is_out_of_span(100)
