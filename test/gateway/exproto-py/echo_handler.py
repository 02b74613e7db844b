"""An ExProto handler in Python for tests: stubs generated from proto/exproto.proto at test time.

Line protocol: "CONNECT id" authenticates, "PUB topic text" publishes, "SUB topic" subscribes; any other
line is echoed; deliveries are sent as "MSG topic text". Prints "READY <port>" once serving.
Usage: echo_handler.py <stubs dir> <adapter port> <handler port>
"""
import sys
from concurrent import futures

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import exproto_pb2 as pb  # noqa: E402
import exproto_pb2_grpc as pb_grpc  # noqa: E402

adapter = pb_grpc.ConnectionAdapterStub(grpc.insecure_channel("127.0.0.1:" + sys.argv[2]))
buffers = {}


def send(conn, text):
    adapter.Send(pb.SendBytesRequest(conn=conn, bytes=(text + "\n").encode()))


def on_line(conn, line):
    cmd, _, rest = line.partition(" ")
    if cmd == "CONNECT":
        info = pb.ClientInfo(proto_name="pyecho", proto_ver="1", clientid=rest)
        r = adapter.Authenticate(pb.AuthenticateRequest(conn=conn, clientinfo=info, password=""))
        send(conn, "CONNACK " + pb.ResultCode.Name(r.code))
    elif cmd == "PUB":
        topic, _, text = rest.partition(" ")
        r = adapter.Publish(pb.PublishRequest(conn=conn, topic=topic, qos=0, payload=text.encode()))
        send(conn, "PUBACK " + pb.ResultCode.Name(r.code))
    elif cmd == "SUB":
        r = adapter.Subscribe(pb.SubscribeRequest(conn=conn, topic=rest, qos=1))
        send(conn, "SUBACK " + pb.ResultCode.Name(r.code))
    else:
        send(conn, line)


class Handler(pb_grpc.ConnectionUnaryHandlerServicer):
    def OnSocketCreated(self, request, context):
        buffers[request.conn] = b""
        return pb.EmptySuccess()

    def OnSocketClosed(self, request, context):
        buffers.pop(request.conn, None)
        return pb.EmptySuccess()

    def OnReceivedBytes(self, request, context):
        data = buffers.get(request.conn, b"") + request.bytes
        *lines, rest = data.split(b"\n")
        buffers[request.conn] = rest
        for line in lines:
            if line.strip():
                on_line(request.conn, line.decode().strip())
        return pb.EmptySuccess()

    def OnTimerTimeout(self, request, context):
        return pb.EmptySuccess()

    def OnReceivedMessages(self, request, context):
        for m in request.messages:
            send(request.conn, "MSG %s %s" % (m.topic, m.payload.decode()))
        return pb.EmptySuccess()


server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
pb_grpc.add_ConnectionUnaryHandlerServicer_to_server(Handler(), server)
port = server.add_insecure_port("127.0.0.1:" + sys.argv[3])
server.start()
print("READY %d" % port, flush=True)
server.wait_for_termination()
