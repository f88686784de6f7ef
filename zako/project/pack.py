"""Action-cache packs: the remote entries of a project's loads in one blob.

A remote action cache answers one key per request. A machine with an empty
local cache would ask once per build file -- 2,000 round trips for 2,000
packages, bounded by what the server answers per second (buildgrid: a few
hundred). A pack carries every entry a load sent to the remote, in one
compressed CAS blob, named by a small action-cache entry (the *pointer*)
under a key of the project's identity (its manifest and import map). A load
with a remote reads the pointer and the blob first (two requests); its
lookups then find the entries in memory.

Trust is unchanged: an entry from a pack is used exactly like the same entry
read from the remote on its own -- under the key the lookup computed, and
only if its own fields name that key and what it was computed from (see
``_Loader._checked_entry``); an inline result is checked against its
result key and blake3 digest. The blob is verified against its digest by
the remote client, and a pack that does not decode is ignored (one debug
line), never an error.

Publishing merges: the entries this load sent go first, then the entries
of the pack it read (another machine's, another branch's), up to
``PACK_MAX_BYTES`` of entry text. Two machines publishing at once may drop
each other's newest entries from the pack; those stay readable one by one
and come back with the next publish -- a miss, never a wrong answer.
"""

from __future__ import annotations

import json
import re
import zlib

from blake3 import blake3

__all__ = ["PACK_SCHEMA", "PACK_MAX_BYTES", "pack_key", "encode_pack", "decode_pack",
           "encode_pointer", "decode_pointer"]

PACK_SCHEMA = "zako.ac-pack/1"
#: Entry text one pack keeps (a 10,000-package tree's entries take ~20 MiB).
PACK_MAX_BYTES = 32 << 20
#: A pack blob larger than this is not read (a decompression bomb, or not ours).
_MAX_INFLATED = 2 * PACK_MAX_BYTES
_KEY = re.compile(r"[0-9a-f]{64}\Z")


def pack_key(manifest_digest: str, import_map_digest: str) -> str:
    """The pointer's key: what every machine loading this project computes
    alike (names and digests only, no machine paths)."""
    return blake3(f"{PACK_SCHEMA}\0{manifest_digest}\0{import_map_digest}".encode("utf-8")).hexdigest()


def encode_pack(first: dict[str, bytes], then: dict[str, bytes] | None = None) -> tuple[bytes, int]:
    """The blob holding ``first``'s entries, then ``then``'s (keys not in
    ``first``) while the text fits ``PACK_MAX_BYTES``; and how many it holds."""
    entries: dict[str, str] = {}
    size = 0
    for source in (first, then or {}):
        for key, data in source.items():
            if key in entries:
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                continue  # entries are JSON text; anything else stays out
            size += len(data) + len(key)
            if size > PACK_MAX_BYTES:
                break
            entries[key] = text
    doc = json.dumps({"schema": PACK_SCHEMA, "entries": entries}, ensure_ascii=False, separators=(",", ":"))
    return zlib.compress(doc.encode("utf-8"), 1), len(entries)


def decode_pack(blob: bytes) -> dict[str, bytes]:
    """Entries of a pack blob; ``ValueError`` for anything that is not one."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(blob, _MAX_INFLATED)
        if inflater.unconsumed_tail:
            raise ValueError("pack inflates past its limit")
        doc = json.loads(raw)
    except (zlib.error, UnicodeDecodeError) as exc:
        raise ValueError(f"not a pack: {exc}") from None
    if not isinstance(doc, dict) or doc.get("schema") != PACK_SCHEMA or not isinstance(doc.get("entries"), dict):
        raise ValueError("not a pack of this version")
    out: dict[str, bytes] = {}
    for key, text in doc["entries"].items():
        if isinstance(key, str) and _KEY.match(key) and isinstance(text, str):
            out[key] = text.encode("utf-8")
    return out


def encode_pointer(key: str, blob_digest: str, count: int) -> bytes:
    return json.dumps({"key": key, "schema": PACK_SCHEMA, "pack": blob_digest, "entries": count},
                      sort_keys=True, separators=(",", ":")).encode("utf-8")


def decode_pointer(data: bytes, key: str) -> str:
    """The pack's digest text named by a pointer stored under ``key``."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise ValueError("pointer is not JSON") from None
    if not isinstance(doc, dict) or doc.get("schema") != PACK_SCHEMA or doc.get("key") != key \
            or not isinstance(doc.get("pack"), str):
        raise ValueError("pointer does not name a pack for this key")
    return doc["pack"]
