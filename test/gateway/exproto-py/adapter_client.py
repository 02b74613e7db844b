"""Calls the gateway's ConnectionAdapter from Python (Debian's python3-grpcio) and prints one line per case.

Cases: ok (RawPublish answered SUCCESS), unknown (a method the service lacks), oversize (a message above the
server's 16 MiB limit), concurrent (many calls at once whose requests together pass every initial window),
and, with certificate files given, the same ok call over TLS with a client certificate.
Usage: adapter_client.py <stubs dir> <adapter port> [<ca> <client cert> <client key>]
Output lines: "<case> <grpc status name> <result code name or ->".
"""
import sys

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import exproto_pb2 as pb  # noqa: E402
import exproto_pb2_grpc as pb_grpc  # noqa: E402

target = "127.0.0.1:" + sys.argv[2]


def report(case, call):
    try:
        r = call()
        print(case, "OK", pb.ResultCode.Name(r.code), flush=True)
    except grpc.RpcError as e:
        print(case, e.code().name, "-", flush=True)


def raw(topic, size=1):
    return pb.RawPublishRequest(topic=topic, qos=0, payload=b"x" * size)


def run(channel, prefix):
    stub = pb_grpc.ConnectionAdapterStub(channel)
    report(prefix + "ok", lambda: stub.RawPublish(raw("py/raw"), timeout=5))
    unknown = channel.unary_unary(
        "/emqx.exproto.v1.ConnectionAdapter/Nope",
        request_serializer=pb.RawPublishRequest.SerializeToString,
        response_deserializer=pb.CodeResponse.FromString,
    )
    report(prefix + "unknown", lambda: unknown(raw("py/raw"), timeout=5))
    report(prefix + "oversize", lambda: stub.RawPublish(raw("py/big", 17 * 1024 * 1024), timeout=10))
    calls = [stub.RawPublish.future(raw("py/many", 64 * 1024), timeout=20) for _ in range(200)]
    results = set()
    for c in calls:
        try:
            results.add(pb.ResultCode.Name(c.result().code))
        except grpc.RpcError as e:
            results.add(e.code().name)
    print(prefix + "concurrent", "OK" if results == {"SUCCESS"} else "FAILED", ",".join(sorted(results)), flush=True)


if len(sys.argv) == 3:
    run(grpc.insecure_channel(target), "")
else:
    files = [open(f, "rb").read() for f in sys.argv[3:6]]
    creds = grpc.ssl_channel_credentials(root_certificates=files[0], certificate_chain=files[1], private_key=files[2])
    channel = grpc.secure_channel(target, creds, options=[("grpc.ssl_target_name_override", "localhost")])
    report("tls-ok", lambda: pb_grpc.ConnectionAdapterStub(channel).RawPublish(raw("py/raw"), timeout=5))
    bare = grpc.ssl_channel_credentials(root_certificates=files[0])
    no_cert = grpc.secure_channel(target, bare, options=[("grpc.ssl_target_name_override", "localhost")])
    report("tls-nocert", lambda: pb_grpc.ConnectionAdapterStub(no_cert).RawPublish(raw("py/raw"), timeout=5))
