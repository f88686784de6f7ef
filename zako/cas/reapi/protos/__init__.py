"""Generated from the ``.proto`` subset beside this file by
``tools/gen_reapi.sh`` (grpcio-tools 1.85.1). The modules check their
runtimes when imported: ``protobuf>=7.35.1`` (the version named in each
``*_pb2.py``'s ``ValidateProtobufRuntimeVersion`` call) and
``grpcio>=1.85.1``. Do not edit them: edit the ``.proto`` files and run
the script.
"""
