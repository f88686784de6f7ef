#!/bin/bash
# Regenerates zako/cas/reapi/protos/*_pb2.py and *_pb2_grpc.py from the .proto
# subset beside them. Needs grpcio-tools (python3 -m pip install grpcio-tools);
# the modules it writes need a protobuf runtime at least as new as the one
# grpcio-tools bundles (see zako/cas/reapi/protos/__init__.py).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PY:-python3}"
cd "$ROOT"
# Paths relative to the repository root, so the generated imports are
# `from zako.cas.reapi.protos import ...` and never a top-level `google`.
"$PY" -m grpc_tools.protoc -I . \
  --python_out=. --grpc_python_out=. \
  zako/cas/reapi/protos/status.proto \
  zako/cas/reapi/protos/bytestream.proto \
  zako/cas/reapi/protos/remote_execution.proto
rm -f zako/cas/reapi/protos/status_pb2_grpc.py  # status.proto has no service
echo "generated with grpcio-tools $("$PY" -c 'import grpc_tools, importlib.metadata as m; print(m.version("grpcio-tools"))')"
grep -h "ValidateProtobufRuntimeVersion" -A 6 zako/cas/reapi/protos/*_pb2.py | head -8
