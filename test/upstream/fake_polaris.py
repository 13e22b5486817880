#!/usr/bin/env python3
"""A local Polaris config centre, started by the tests (real sockets, real HTTP/1.1): the
login/download protocol the predecessor spoke (../shared/reference/seed-aitools.md §3.3).

  POST /api/v1/user/login   JSON {"addr", "account", "password"}: 200 with
                            Set-Cookie: JSESSIONID=<new session> (and an unrelated cookie),
                            or 401 {"code": 401, "message": ...} for wrong credentials
  GET  /config/download     ?project=&cluster=&service=&version=&configName= with
                            Cookie: JSESSIONID=<session>: 200 {"code": 0, "data": {"content":
                            <dotenv text>}}; without a valid session 401 (or a 302 to /login,
                            see /__expire); a query that differs from the filter: 404
Control endpoints, for the tests:
  POST /__content  {"content": "<dotenv text>", "filter": {"project": ..., "cluster": ...,
                   "service": ..., "version": ..., "configName": ...}} (filter optional: it
                   keeps the last one; none set accepts any query). Kept in <dir of --keys>/
                   polaris-content.json, so a restarted centre serves the same content.
  POST /__expire   {"answer": "401"|"redirect"}: forget every session; a download without a
                   valid session is answered that way from now on (default 401)
  GET  /__stats    {"logins", "login_failures", "downloads", "rejected_downloads", "sessions",
                   "last_login": the last login body, "last_query": the last download query
                   (decoded), "last_raw_query": as sent} - counted since this process started
  GET  /__health   200
Accounts come from --keys FILE ({"username": "password", ...}), re-read on every login so a
test can change the credentials while the server polls. --port 0 picks a free port; the port
is written to --port-file once the socket is bound. --tls CERT KEY serves HTTPS.
"""
import json
import os
import threading
import uuid
import fake_server
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

FILTER_KEYS = ("project", "cluster", "service", "version", "configName")
LOCK = threading.Lock()
STATE = {"sessions": set(), "unauthorized": "401", "logins": 0, "login_failures": 0,
         "downloads": 0, "rejected_downloads": 0, "last_login": None, "last_query": None,
         "last_raw_query": None}
ARGS = None


def content_file():
    return os.path.join(os.path.dirname(os.path.abspath(ARGS.keys)), "polaris-content.json")


def read_content():
    """{"content": str, "filter": dict or None}; no content yet: empty."""
    try:
        with open(content_file()) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"content": "", "filter": None}


def write_content(stored):
    path = content_file()
    with open(path + ".tmp", "w") as f:
        json.dump(stored, f)
    os.replace(path + ".tmp", path)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, message, headers=()):
        return self.answer(status, {"code": status, "message": message}, headers)

    def json_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None

    def session(self):
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "JSESSIONID":
                return value
        return None

    def handle_any(self):
        parts = urlsplit(self.path)
        path = parts.path
        body = self.json_body()
        if path == "/__health":
            return self.answer(200, {"ok": True})
        if path == "/__content" and self.command == "POST":
            if not isinstance(body, dict) or not isinstance(body.get("content", ""), str):
                return self.error(400, "expected {\"content\": string, \"filter\": {...}}")
            with LOCK:
                stored = read_content()
                stored["content"] = body.get("content", "")
                if "filter" in body:
                    stored["filter"] = body["filter"]
                write_content(stored)
            return self.answer(200, stored)
        if path == "/__expire" and self.command == "POST":
            with LOCK:
                STATE["sessions"].clear()
                STATE["unauthorized"] = (body or {}).get("answer", "401")
            return self.answer(200, {"unauthorized": STATE["unauthorized"]})
        if path == "/__stats":
            with LOCK:
                stats = {k: v for k, v in STATE.items() if k not in ("sessions", "unauthorized")}
                stats["sessions"] = len(STATE["sessions"])
            return self.answer(200, stats)
        if path == "/api/v1/user/login" and self.command == "POST":
            return self.login(body)
        if path == "/config/download" and self.command == "GET":
            return self.download(parts.query)
        return self.error(404, "no such API: %s %s" % (self.command, path))

    def login(self, body):
        if not isinstance(body, dict) or not {"addr", "account", "password"} <= body.keys():
            return self.error(400, "expected {addr, account, password}")
        try:
            with open(ARGS.keys) as f:
                accounts = json.load(f)
        except (OSError, ValueError) as e:
            return self.error(500, "fake polaris: cannot read accounts: %s" % e)
        with LOCK:
            STATE["last_login"] = body
            if body["account"] not in accounts or accounts[body["account"]] != body["password"]:
                STATE["login_failures"] += 1
                return self.error(401, "invalid account or password")
            session = uuid.uuid4().hex.upper()
            STATE["sessions"].add(session)
            STATE["logins"] += 1
        cookies = [("Set-Cookie", "theme=light; Path=/"),
                   ("Set-Cookie", "JSESSIONID=%s; Path=/; HttpOnly" % session)]
        answer = {"code": 0, "message": "success", "data": {"account": body["account"]}}
        return self.answer(200, answer, cookies)

    def download(self, raw_query):
        query = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        with LOCK:
            STATE["last_query"] = query
            STATE["last_raw_query"] = raw_query
            if self.session() not in STATE["sessions"]:
                STATE["rejected_downloads"] += 1
                if STATE["unauthorized"] == "redirect":
                    login = [("Location", "/login?next=/config/download")]
                    return self.error(302, "login first", login)
                return self.error(401, "not logged in or session expired")
            stored = read_content()
            wanted = stored.get("filter")
            if wanted is not None and any(query.get(k) != wanted.get(k, "") for k in FILTER_KEYS):
                STATE["rejected_downloads"] += 1
                return self.error(404, "no config file for %s" % json.dumps(query))
            STATE["downloads"] += 1
        return self.answer(200, {"code": 0, "message": "success",
                                 "data": {"content": stored["content"]}})

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


def main():
    global ARGS
    ARGS = fake_server.parse_arguments()
    fake_server.serve(Handler, ARGS)


if __name__ == "__main__":
    main()
