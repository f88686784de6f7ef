"""A REAPI v2 cache client over gRPC: zako's remote CAS and action cache on
any Remote Execution API server (buildgrid, bazel-remote, Buildbarn...).

Same surface as :class:`zako.cas.HttpCas` (``store``, ``store_file``,
``store_stream``, ``contains``, ``check``, ``fetch``, ``read_bytes``,
``ac_get``, ``ac_put``, ``close``, ``health``), so ``CasStore`` and the
action cache use either unchanged. How zako's entries map onto REAPI:

- a blob is a CAS blob; with a BLAKE3 server under its own digest, with a
  SHA-256 server under its SHA-256 digest, the blake3 -> SHA-256 mapping
  kept in :class:`DigestMap` (learned on upload and from action results);
- an action-cache entry (small JSON naming its key and result blob) is the
  ``stdout_raw`` of an ``ActionResult`` stored under the digest of the text
  ``"zako action-cache entry <key>"``; each blob the entry names is one of
  its ``output_files`` (path ``blake3/<hex>/<size>``, digest the server's),
  so the server keeps the blob alive with the entry, answers "not found"
  once the blob is gone, and a reader on another machine learns the
  mapping with the entry.

Every blob read is checked against its blake3 digest: a blob the server
serves with other bytes is a :class:`DigestMismatchError` (a miss for the
caller) and one failure for the breaker. Every call has a total deadline
(``timeout`` plus one second per ``min_rate`` bytes), and failures feed the
shared :class:`CacheHealth` exactly like the HTTP client's.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import ssl
import threading
import time
import uuid
from typing import BinaryIO

import grpc

from ..blob_range import BlobRange, check_range
from ..breaker import CacheHealth
from ..digest import CHUNK_BYTES, Digest
from ..errors import BlobNotFoundError, DigestMismatchError, RemoteCasError, RemoteDisabledError, RemoteTimeoutError
from .batcher import Batcher
from .digest_map import DigestMap
from .protos import bytestream_pb2 as bs
from .protos import bytestream_pb2_grpc as bs_grpc
from .protos import remote_execution_pb2 as re_pb
from .protos import remote_execution_pb2_grpc as re_grpc
from .url import parse_grpc_url

__all__ = ["ReapiCas", "DEFAULT_TIMEOUT_S"]

DEFAULT_TIMEOUT_S = 5.0
_FULL = BlobRange()
_SHA256 = re_pb.DigestFunction.SHA256
_BLAKE3 = re_pb.DigestFunction.BLAKE3
# A digest as zako writes it in an entry: "<blake3 hex>/<size>".
_DIGEST_IN_ENTRY = re.compile(rb"([0-9a-f]{64})/([0-9]+)")
_OUTPUT_PATH = re.compile(r"blake3/([0-9a-f]{64})/([0-9]+)")
# gRPC's default message limit is 4 MiB; a batch leaves room for its framing.
_MAX_MESSAGE = 4 << 20
_FRAMING = 64 << 10
_BYTESTREAM_CHUNK = 1 << 20
_NOT_FOUND = grpc.StatusCode.NOT_FOUND


def _system_roots() -> bytes | None:
    """The system trust store (gRPC's own bundled roots are not the system's)."""
    paths = ssl.get_default_verify_paths()
    for path in (paths.cafile, "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
        if path and os.path.isfile(path):
            with open(path, "rb") as f:
                return f.read()
    return None  # gRPC falls back to its bundled roots


def _read_file(path: str | os.PathLike | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read()


class ReapiCas:
    """Remote CAS and action cache on a REAPI v2 server at ``url``
    (``grpc://host:port[/instance]``, ``grpcs://`` for TLS with the system
    trust store, or ``ca_file`` / ``client_cert`` + ``client_key``).
    ``headers`` (``--remote-header``) go with every call as metadata.

    ``map_path`` is the file keeping the blake3 -> SHA-256 mapping (None:
    memory only). ``local`` (optional, a ``LocalCas``) lets ``ac_put`` learn
    the SHA-256 of a blob an entry names that this client has not uploaded
    yet (uploads and entries travel through one queue, in any order).

    The server's capabilities are asked once, with the first request, and
    fix the digest function (BLAKE3 if offered, else SHA-256) and the batch
    limit. Failures raise :class:`RemoteCasError` (``RemoteTimeoutError``
    past the deadline, ``RemoteDisabledError`` when the breaker lets
    nothing through). Thread-safe.
    """

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT_S, *, health: CacheHealth | None = None,
                 map_path: str | None = None, local=None, min_rate: int = 1 << 20,
                 headers: dict[str, str] | None = None, ca_file: str | None = None,
                 client_cert: str | None = None, client_key: str | None = None) -> None:
        target = parse_grpc_url(url)
        if not timeout > 0:
            raise ValueError(f"ReapiCas timeout must be > 0, got {timeout!r}")
        if bool(client_cert) != bool(client_key):
            raise ValueError("--remote-client-cert and --remote-client-key go together (mutual TLS needs both)")
        self.base_url = target.shown
        self.instance = target.instance
        self.timeout = float(timeout)
        self.min_rate = min_rate
        self.health = health if health is not None else CacheHealth(f"remote cache {self.base_url}")
        self.local = local
        self.digests = DigestMap(map_path)
        # Sent with every call (gRPC metadata keys are lower case); never shown.
        self._metadata = tuple((k.lower(), v) for k, v in (headers or {}).items()) or None
        options = [("grpc.max_receive_message_length", _MAX_MESSAGE + _FRAMING),
                   ("grpc.max_send_message_length", _MAX_MESSAGE + _FRAMING),
                   # Fail fast while the server is down, instead of a
                   # minutes-long reconnect backoff after one refusal.
                   ("grpc.initial_reconnect_backoff_ms", 200),
                   ("grpc.max_reconnect_backoff_ms", 1000)]
        if target.tls or ca_file or client_cert:
            creds = grpc.ssl_channel_credentials(
                root_certificates=_read_file(ca_file) if ca_file else _system_roots(),
                private_key=_read_file(client_key), certificate_chain=_read_file(client_cert))
            self._channel = grpc.secure_channel(target.target, creds, options=options)
        else:
            self._channel = grpc.insecure_channel(target.target, options=options)
        self._ac = re_grpc.ActionCacheStub(self._channel)
        self._cas = re_grpc.ContentAddressableStorageStub(self._channel)
        self._caps_stub = re_grpc.CapabilitiesStub(self._channel)
        self._bytestream = bs_grpc.ByteStreamStub(self._channel)
        self._caps_lock = threading.Lock()
        self.digest_function: int | None = None
        self._caps_failed_at = float("-inf")
        self.max_batch_bytes = _MAX_MESSAGE - _FRAMING
        # Concurrent one-blob reads and writes leave together in batch calls.
        self._reads = Batcher(self._send_reads, max_bytes=self.max_batch_bytes)
        self._writes = Batcher(self._send_updates, max_bytes=self.max_batch_bytes)

    def __repr__(self) -> str:
        return f"ReapiCas({self.base_url!r})"

    def close(self) -> None:
        self._channel.close()
        self.digests.close()

    def __enter__(self) -> "ReapiCas":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- calls --------------------------------------------------------------

    def _seconds(self, nbytes: int) -> float:
        return self.timeout + nbytes / self.min_rate

    def _call(self, what: str, kind: str, seconds: float, call, n: int = 1):
        """Run ``call(timeout)`` under the breaker: ``RemoteDisabledError``
        when it lets nothing through, ``None`` for NOT_FOUND (a success),
        a recorded ``RemoteCasError`` for every other failure. The first
        call asks for the capabilities, within its own deadline. ``n`` is how
        many operations the call carries (a batch), for the skip count."""
        if not self.health.acquire(seconds + 1.0):
            self.health.skipped(kind, n)
            why = self.health.reason or "the remote is failing and another request is probing it"
            raise RemoteDisabledError(f"{what} on {self.base_url} not sent: {why}", url=self.base_url)
        try:
            if self.digest_function is None:
                self._capabilities(seconds)
            result = call(seconds)
        except grpc.RpcError as exc:
            if exc.code() is _NOT_FOUND:
                self.health.success()
                return None
            raise self._failed(what, exc, seconds) from None
        except RemoteDisabledError:
            self.health.skipped(kind, n)
            raise
        except RemoteCasError:
            raise
        self.health.success()
        return result

    def _failed(self, what: str, exc: grpc.RpcError, seconds: float) -> RemoteCasError:
        code = exc.code()
        if code is grpc.StatusCode.DEADLINE_EXCEEDED:
            why = f"no complete answer within {seconds:.1f} s (total deadline)"
            err: RemoteCasError = RemoteTimeoutError(f"{what} on {self.base_url}: {why}", url=self.base_url)
        else:
            detail = (exc.details() or "").splitlines()[0][:200] if exc.details() else ""
            why = f"failed: {code.name}" + (f" ({detail})" if detail else "")
            err = RemoteCasError(f"{what} on {self.base_url} {why}", url=self.base_url)
        self.health.failure(f"{what} {why}")
        return err

    def _capabilities(self, seconds: float) -> None:
        entered = time.monotonic()
        with self._caps_lock:
            if self.digest_function is not None:
                return
            if self._caps_failed_at >= entered:
                # It failed while this call waited for the lock: asking again
                # would only add one more deadline per waiting thread.
                raise RemoteDisabledError(f"GetCapabilities on {self.base_url} not sent: it just failed",
                                          url=self.base_url)
            try:
                caps = self._caps_stub.GetCapabilities(
                    re_pb.GetCapabilitiesRequest(instance_name=self.instance), timeout=seconds,
                    metadata=self._metadata).cache_capabilities
            except grpc.RpcError:
                self._caps_failed_at = time.monotonic()
                raise
            offered = set(caps.digest_functions) or {_SHA256}  # servers before v2.1 name none: SHA-256
            if _BLAKE3 in offered:
                function = _BLAKE3
            elif _SHA256 in offered:
                function = _SHA256
            else:
                names = ", ".join(re_pb.DigestFunction.Value.Name(f) for f in sorted(offered))
                err = RemoteCasError(f"{self.base_url} offers neither BLAKE3 nor SHA256 digests ({names})",
                                     url=self.base_url)
                self.health.failure(str(err))
                raise err
            limit = caps.max_batch_total_size_bytes
            self.max_batch_bytes = min(limit, _MAX_MESSAGE) - _FRAMING if limit > 0 else _MAX_MESSAGE - _FRAMING
            self._reads.max_bytes = self._writes.max_bytes = self.max_batch_bytes
            self.digest_function = function

    # --- digests ------------------------------------------------------------

    def _remote_digest(self, digest: Digest) -> re_pb.Digest | None:
        """The server's digest of a zako blob, or None if not known here."""
        if not isinstance(digest, Digest):
            raise TypeError(f"expected a Digest, got {type(digest).__name__} {digest!r}")
        if self.digest_function == _BLAKE3:
            return re_pb.Digest(hash=digest.hex, size_bytes=digest.size_bytes)
        found = self.digests.get(digest.hex)
        return re_pb.Digest(hash=found, size_bytes=digest.size_bytes) if found is not None else None

    def _learn(self, digest: Digest, data) -> re_pb.Digest:
        if self.digest_function == _BLAKE3:
            return re_pb.Digest(hash=digest.hex, size_bytes=digest.size_bytes)
        sha = hashlib.sha256(data).hexdigest()
        self.digests.add(digest.hex, sha)
        return re_pb.Digest(hash=sha, size_bytes=digest.size_bytes)

    def _resource(self, rd: re_pb.Digest, upload: bool) -> str:
        # The digest function is named only when the hash length cannot tell it.
        fn = "blake3/" if self.digest_function == _BLAKE3 else ""
        head = f"uploads/{uuid.uuid4()}/" if upload else ""
        name = f"{head}blobs/{fn}{rd.hash}/{rd.size_bytes}"
        return f"{self.instance}/{name}" if self.instance else name

    def _ensure_caps(self, kind: str) -> None:
        # Digests depend on the digest function: learn it before the first one
        # (a skipped call is counted as the operation that needed it).
        if self.digest_function is None:
            self._call("GetCapabilities", kind, self.timeout, lambda t: None)
            if self.digest_function is None:
                raise RemoteCasError(f"{self.base_url}: capabilities unknown", url=self.base_url)

    # --- CAS ----------------------------------------------------------------

    def check(self, digest: Digest) -> int | None:
        """Size of the blob if the server has it, else None (one FindMissingBlobs)."""
        self._ensure_caps("blob read")
        rd = self._remote_digest(digest)
        if rd is None:
            return None
        resp = self._call("FindMissingBlobs", "blob read", self.timeout, lambda t: self._cas.FindMissingBlobs(
            re_pb.FindMissingBlobsRequest(instance_name=self.instance, blob_digests=[rd],
                                          digest_function=self.digest_function), timeout=t, metadata=self._metadata))
        if resp is None or resp.missing_blob_digests:
            return None
        return digest.size_bytes

    def contains(self, digest: Digest) -> bool:
        return self.check(digest) is not None

    __contains__ = contains

    def store(self, digest: Digest, data: bytes | bytearray | memoryview) -> Digest:
        """Upload ``data`` under ``digest`` (checked first: :class:`DigestMismatchError`)."""
        actual = Digest.of_bytes(data)
        if actual != digest:
            raise DigestMismatchError(
                f"data given for blob {digest} hashes to {actual}; not uploaded to {self!r}",
                expected=digest, actual=actual)
        self._ensure_caps("blob write")
        data = bytes(data)
        rd = self._learn(digest, data)
        if digest.size_bytes <= self.max_batch_bytes:
            self._batch_update(rd, data)
        else:
            self._write(rd, io.BytesIO(data))
        return digest

    def _batch_update(self, rd: re_pb.Digest, data: bytes) -> None:
        code, message = self._writes.submit((rd, data), len(data))
        if code != 0:
            why = f"status {code} {message[:200]}"
            self.health.failure(f"BatchUpdateBlobs {why}")
            raise RemoteCasError(f"BatchUpdateBlobs on {self.base_url}: {why}", url=self.base_url)

    def _send_updates(self, items) -> list[tuple[int, str]]:
        """One BatchUpdateBlobs for ``[(digest, data)]``: ``(code, message)`` each."""
        request = re_pb.BatchUpdateBlobsRequest(
            instance_name=self.instance, digest_function=self.digest_function,
            requests=[re_pb.BatchUpdateBlobsRequest.Request(digest=rd, data=data) for rd, data in items])
        resp = self._call("BatchUpdateBlobs", "blob write", self._seconds(sum(len(d) for _, d in items)),
                          lambda t: self._cas.BatchUpdateBlobs(request, timeout=t, metadata=self._metadata),
                          n=len(items))
        answers = {(r.digest.hash, r.digest.size_bytes): (r.status.code, r.status.message)
                   for r in (resp.responses if resp is not None else ())}
        return [answers.get((rd.hash, rd.size_bytes), (-1, "no answer for the blob")) for rd, _ in items]

    def _send_reads(self, rds) -> list[tuple[int, str, bytes]]:
        """One BatchReadBlobs for ``[digest]``: ``(code, message, data)`` each."""
        resp = self._call("BatchReadBlobs", "blob read", self._seconds(sum(rd.size_bytes for rd in rds)),
                          lambda t: self._cas.BatchReadBlobs(re_pb.BatchReadBlobsRequest(
                              instance_name=self.instance, digests=rds, digest_function=self.digest_function),
                              timeout=t, metadata=self._metadata), n=len(rds))
        not_found = grpc.StatusCode.NOT_FOUND.value[0]
        answers = {(r.digest.hash, r.digest.size_bytes): (r.status.code, r.status.message, r.data)
                   for r in (resp.responses if resp is not None else ())}
        return [answers.get((rd.hash, rd.size_bytes), (not_found, "", b"")) for rd in rds]

    def _write(self, rd: re_pb.Digest, f: BinaryIO) -> None:
        name = self._resource(rd, upload=True)
        size = rd.size_bytes

        def chunks():
            offset = 0
            while True:
                data = f.read(_BYTESTREAM_CHUNK)
                last = offset + len(data) >= size or not data
                yield bs.WriteRequest(resource_name=name if offset == 0 else "", write_offset=offset,
                                      data=data, finish_write=last)
                offset += len(data)
                if last:
                    return

        resp = self._call("ByteStream.Write", "blob write", self._seconds(size),
                          lambda t: self._bytestream.Write(chunks(), timeout=t, metadata=self._metadata))
        if resp is None or resp.committed_size not in (size, -1):
            got = "no answer" if resp is None else f"committed {resp.committed_size} of {size} bytes"
            self.health.failure(f"ByteStream.Write {got}")
            raise RemoteCasError(f"ByteStream.Write on {self.base_url}: {got}", url=self.base_url)

    def store_file(self, path: str | os.PathLike, expected: Digest | None = None) -> Digest:
        """Upload a file; its digest is computed (and ``expected`` checked) first."""
        with open(path, "rb") as f:
            data = f.read()
        digest = Digest.of_bytes(data)
        if expected is not None and digest != expected:
            raise DigestMismatchError(f"file {os.fspath(path)!r} hashes to {digest}, not {expected}",
                                      expected=expected, actual=digest)
        return self.store(digest, data)

    def store_stream(self, stream: BinaryIO, expected: Digest | None = None) -> Digest:
        chunks = []
        while True:
            chunk = stream.read(CHUNK_BYTES)
            if not chunk:
                break
            chunks.append(chunk)
        data = b"".join(chunks)
        digest = Digest.of_bytes(data)
        if expected is not None and digest != expected:
            raise DigestMismatchError(f"stream given for blob {expected} hashes to {digest}; not uploaded",
                                      expected=expected, actual=digest)
        return self.store(digest, data)

    def read_bytes(self, digest: Digest, range: BlobRange = _FULL) -> bytes:
        """The bytes of ``range`` of the blob, read whole and verified first:
        :class:`BlobNotFoundError` if the server lacks it (or its SHA-256 is
        not known here), :class:`DigestMismatchError` if its bytes do not
        hash to ``digest``."""
        start, stop = check_range(digest, range)
        data = self._read_whole(digest)
        return data if (start, stop) == (0, digest.size_bytes) else data[start:stop]

    def _read_whole(self, digest: Digest) -> bytes:
        self._ensure_caps("blob read")
        rd = self._remote_digest(digest)
        if rd is None:
            raise BlobNotFoundError(f"blob {digest} has no known digest on {self!r}", digest=digest)
        if digest.size_bytes <= self.max_batch_bytes:
            code, message, data = self._reads.submit(rd, digest.size_bytes)
            if code == grpc.StatusCode.NOT_FOUND.value[0]:
                raise BlobNotFoundError(f"blob {digest} is not in {self!r}", digest=digest)
            if code != 0:
                why = f"status {code} {message[:200]}"
                self.health.failure(f"BatchReadBlobs {why}")
                raise RemoteCasError(f"BatchReadBlobs on {self.base_url}: {why}", url=self.base_url)
        else:
            name = self._resource(rd, upload=False)
            parts = self._call("ByteStream.Read", "blob read", self._seconds(digest.size_bytes),
                               lambda t: [r.data for r in self._bytestream.Read(
                                   bs.ReadRequest(resource_name=name), timeout=t, metadata=self._metadata)])
            if parts is None:
                raise BlobNotFoundError(f"blob {digest} is not in {self!r}", digest=digest)
            data = b"".join(parts)
        actual = Digest.of_bytes(data)
        if actual != digest:
            self.health.failure(f"blob {digest.hex[:12]}… served with other bytes (tampered?)")
            raise DigestMismatchError(f"blob {digest} served by {self.base_url} hashes to {actual} (tampered?)",
                                      expected=digest, actual=actual)
        return data

    def fetch(self, digest: Digest, range: BlobRange = _FULL) -> BinaryIO:
        """A binary file over ``range`` of the (verified) blob."""
        return io.BytesIO(self.read_bytes(digest, range))

    # --- action cache -------------------------------------------------------

    def _action_digest(self, key_hex: str) -> re_pb.Digest:
        # REAPI keys results by the digest of an Action message; zako's key is
        # already a digest of everything the result depends on, so the text
        # naming it stands in for the Action (hashed with the server's function).
        text = f"zako action-cache entry {key_hex}".encode("ascii")
        if self.digest_function == _BLAKE3:
            return re_pb.Digest(hash=Digest.of_bytes(text).hex, size_bytes=len(text))
        return re_pb.Digest(hash=hashlib.sha256(text).hexdigest(), size_bytes=len(text))

    def ac_get(self, key) -> bytes | None:
        """The entry stored under ``key`` (64 hex digits), or None. Learns
        the server digests of the blobs the entry names."""
        key_hex = str(key)
        self._ensure_caps("action-cache read")
        ad = self._action_digest(key_hex)
        result = self._call("GetActionResult", "action-cache read", self.timeout, lambda t: self._ac.GetActionResult(
            re_pb.GetActionResultRequest(instance_name=self.instance, action_digest=ad, inline_stdout=True,
                                         digest_function=self.digest_function), timeout=t, metadata=self._metadata))
        if result is None:
            return None
        for out in result.output_files:
            m = _OUTPUT_PATH.fullmatch(out.path)
            if m is None or out.digest.size_bytes != int(m.group(2)):
                continue
            if self.digest_function != _BLAKE3:
                self.digests.add(m.group(1), out.digest.hash)
        data = result.stdout_raw
        if not data and result.HasField("stdout_digest"):
            data = self._read_raw(result.stdout_digest)
        return data or None

    def _read_raw(self, rd: re_pb.Digest) -> bytes | None:
        """A blob by its server digest (an entry the server moved out of line)."""
        resp = self._call("BatchReadBlobs", "action-cache read", self._seconds(rd.size_bytes),
                          lambda t: self._cas.BatchReadBlobs(re_pb.BatchReadBlobsRequest(
                              instance_name=self.instance, digests=[rd], digest_function=self.digest_function),
                              timeout=t, metadata=self._metadata))
        if resp is None or not resp.responses or resp.responses[0].status.code != 0:
            return None
        data = resp.responses[0].data
        check = Digest.of_bytes(data).hex if self.digest_function == _BLAKE3 else hashlib.sha256(data).hexdigest()
        return data if check == rd.hash and len(data) == rd.size_bytes else None

    def ac_put(self, key, data: bytes) -> None:
        """Store ``data`` under ``key`` as an action result whose output
        files are the blobs it names (those whose server digest is known)."""
        key_hex = str(key)
        data = bytes(data)
        self._ensure_caps("action-cache write")
        outputs = []
        for m in _DIGEST_IN_ENTRY.finditer(data):
            digest = Digest.parse(m.group(0).decode("ascii"))
            rd = self._remote_digest(digest)
            if rd is None and self.local is not None:
                try:
                    rd = self._learn(digest, self.local.read_bytes(digest))
                except Exception:  # noqa: BLE001 - not a blob of ours (a script digest): no output
                    rd = None
            if rd is not None:
                outputs.append(re_pb.OutputFile(path=f"blake3/{digest.hex}/{digest.size_bytes}", digest=rd))
        ad = self._action_digest(key_hex)
        result = re_pb.ActionResult(exit_code=0, stdout_raw=data, output_files=outputs)
        self._call("UpdateActionResult", "action-cache write", self._seconds(len(data)),
                   lambda t: self._ac.UpdateActionResult(re_pb.UpdateActionResultRequest(
                       instance_name=self.instance, action_digest=ad, action_result=result,
                       digest_function=self.digest_function), timeout=t, metadata=self._metadata))

    def ac_contains(self, key) -> bool:
        return self.ac_get(key) is not None
