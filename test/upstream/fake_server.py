"""What the fake upstreams share: their command line (--keys, --port-file, --port, --tls) and
serving on 127.0.0.1 with the bound port written atomically to --port-file."""
import argparse
import os
import ssl
from http.server import ThreadingHTTPServer


def parse_arguments(add_arguments=None):
    """The common options, plus what `add_arguments(parser)` adds."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    if add_arguments:
        add_arguments(parser)
    return parser.parse_args()


def serve(handler, args):
    """Serves `handler` (threaded, optionally TLS) forever."""
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*args.tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()
