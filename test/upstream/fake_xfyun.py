#!/usr/bin/env python3
"""A local stand-in for the iFlytek open platform, started by the tests (never a mock inside
the server: real sockets, real HTTP/1.1 with keep-alive, optional TLS).

It checks the xfyun-hmac signed URL the way the platform does (host, date, request-line;
HMAC-SHA256 with the api_secret of the api_key named in the authorization; the date within
300 s) and answers in the platform's documented formats:
  POST /v1/its      machine translation (its): the text comes back as "[<to>] <text>"
  POST /v2.1/tti    image generation: a PNG of the requested width x height
  ANY  /echo/...    generic: the request as JSON (signature checked only when present)
Control endpoints (unsigned), for the tests:
  GET    /__requests  every request received so far (method, path, query, headers, body,
                      signed_with: the api_key whose signature verified, or null;
                      peer_port: the client's TCP port, one per connection)
  DELETE /__requests  forget them
  POST   /__mode      {"mode": "normal"|"slow"|"garbage"|"http500"|"close", "delay_ms": N}
  GET    /__health    200
Keys come from --keys FILE ({"api_key": "api_secret", ...}), re-read on every request so a
test can rotate credentials while requests flow. --app-id is the app id the APIs accept.
The listening port is written to --port-file once the socket is bound.
"""
import base64
import email.utils
import hashlib
import hmac
import json
import socket
import struct
import sys
import threading
import time
import zlib
import fake_server
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

STATE = {"mode": "normal", "delay_ms": 0, "requests": []}
LOCK = threading.Lock()
ARGS = None


def png(width, height):
    """A valid grey PNG of the given size (tiny: one compressed row repeated)."""
    row = b"\x00" + b"\x80" * width
    raw = zlib.compress(row * height, 9)
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def verify_signature(method, path, query, host_header):
    """Returns (api_key, None) when the signed URL verifies, else (None, (status, message))."""
    try:
        with open(ARGS.keys) as f:
            keys = json.load(f)
    except (OSError, ValueError) as e:
        return None, (500, "fake upstream: cannot read keys: %s" % e)
    auth = query.get("authorization", [None])[0]
    date = query.get("date", [None])[0]
    host = query.get("host", [None])[0]
    if not auth or not date or not host:
        return None, (401, "Unauthorized: authorization, date and host are required")
    if host != host_header:
        return None, (401, "HMAC signature cannot be verified: host %r is not %r" % (host, host_header))
    try:
        when = email.utils.parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return None, (403, "HMAC signature does not match, a valid date is required")
    if abs(time.time() - when) > 300:
        return None, (403, "HMAC signature does not match: date is skewed")
    try:
        origin = base64.b64decode(auth, validate=True).decode()
        fields = dict(part.strip().split("=", 1) for part in origin.split(","))
        fields = {k: v.strip('"') for k, v in fields.items()}
    except (ValueError, UnicodeDecodeError):
        return None, (401, "HMAC signature cannot be verified: malformed authorization")
    key = fields.get("api_key")
    if fields.get("algorithm") != "hmac-sha256" or fields.get("headers") != "host date request-line":
        return None, (401, "HMAC signature cannot be verified: unsupported algorithm or headers")
    if key not in keys:
        return None, (401, "HMAC signature cannot be verified: unknown api_key %r" % key)
    signed = "host: %s\ndate: %s\n%s %s HTTP/1.1" % (host, date, method, path)
    expected = base64.b64encode(hmac.new(keys[key].encode(), signed.encode(), hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, fields.get("signature", "")):
        return None, (401, "HMAC signature cannot be verified")
    return key, None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = parts.path

        if path == "/__health":
            return self.answer(200, {"ok": True})
        if path == "/__requests":
            with LOCK:
                if self.command == "DELETE":
                    STATE["requests"] = []
                return self.answer(200, STATE["requests"])
        if path == "/__mode":
            change = json.loads(body or b"{}")
            with LOCK:
                STATE["mode"] = change.get("mode", "normal")
                STATE["delay_ms"] = int(change.get("delay_ms", 0))
            return self.answer(200, {"mode": STATE["mode"]})

        signed = "authorization" in query or not path.startswith("/echo")
        key, failure = (None, None)
        if signed:
            key, failure = verify_signature(self.command, path, query, self.headers.get("Host", ""))
        record = {"method": self.command, "path": path,
                  "query": {k: v[0] for k, v in query.items()},
                  "headers": {k.lower(): v for k, v in self.headers.items()},
                  "body": body.decode("utf-8", "replace"), "signed_with": key,
                  "peer_port": self.client_address[1]}
        with LOCK:
            STATE["requests"].append(record)
            mode, delay = STATE["mode"], STATE["delay_ms"]

        if mode == "slow":
            time.sleep(delay / 1000.0)
        elif mode == "garbage":
            self.wfile.write(b"\x16\x03 this is not HTTP at all \x00\xff\r\n\r\n")
            self.close_connection = True
            return
        elif mode == "close":
            self.close_connection = True
            return
        elif mode == "http500":
            return self.answer(500, b"upstream exploded", "text/plain")

        if failure:
            return self.answer(failure[0], {"message": failure[1]})
        if path.startswith("/echo"):
            return self.answer(200, record)
        if path == "/v1/its" and self.command == "POST":
            return self.translation(body)
        if path == "/v2.1/tti" and self.command == "POST":
            return self.image(body)
        return self.answer(404, {"message": "no such API"})

    def platform_error(self, code, message):
        return self.answer(200, {"header": {"code": code, "message": message, "sid": "fake0001"}})

    def translation(self, body):
        try:
            request = json.loads(body)
            app_id = request["header"]["app_id"]
            its = request["parameter"]["its"]
            text = base64.b64decode(request["payload"]["input_data"]["text"]).decode()
        except (ValueError, KeyError, TypeError):
            return self.platform_error(10163, "request data format error")
        if app_id != ARGS.app_id:
            return self.platform_error(11200, "auth no license")
        result = {"from": its["from"], "to": its["to"],
                  "trans_result": {"src": text, "dst": "[%s] %s" % (its["to"], text)}}
        encoded = base64.b64encode(json.dumps(result, ensure_ascii=False).encode()).decode()
        return self.answer(200, {"header": {"code": 0, "message": "success", "sid": "fake0002"},
                                 "payload": {"result": {"seq": "0", "status": "3", "text": encoded}}})

    def image(self, body):
        try:
            request = json.loads(body)
            app_id = request["header"]["app_id"]
            chat = request["parameter"]["chat"]
            width, height = int(chat["width"]), int(chat["height"])
            prompt = request["payload"]["message"]["text"][0]["content"]
        except (ValueError, KeyError, TypeError, IndexError):
            return self.platform_error(10163, "request data format error")
        if app_id != ARGS.app_id:
            return self.platform_error(11200, "auth no license")
        if not prompt:
            return self.platform_error(10163, "prompt is empty")
        content = base64.b64encode(png(width, height)).decode()
        return self.answer(200, {"header": {"code": 0, "message": "Success", "sid": "fake0003", "status": 2},
                                 "payload": {"choices": {"status": 2, "seq": 0,
                                                         "text": [{"content": content, "index": 0, "role": "assistant"}]}}})

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any


def main():
    global ARGS
    ARGS = fake_server.parse_arguments(lambda parser: parser.add_argument("--app-id", default="test-app"))
    fake_server.serve(Handler, ARGS)


if __name__ == "__main__":
    main()
