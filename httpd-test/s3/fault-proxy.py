#!/usr/bin/python3
"""A fault-injecting HTTP proxy in front of the test S3 server (s3s-fs), for httpd-test/t/s3.t.

The fault is chosen by the first key segment after the bucket (the location's TofuStorage
prefix), so every <Location> of the test config gets its own behaviour:

    /BUCKET/ok/...        forwarded unchanged (the Host header too: it is signed)
    /BUCKET/e500/...      500 InternalError, never forwarded
    /BUCKET/slowdown/...  503 SlowDown, never forwarded
    /BUCKET/hang/...      no answer until the client gives up (at most 120 s)
    /BUCKET/trickle/...   forwarded; the body then drips one byte every 0.5 s
    /BUCKET/toggle/...    500 while the file CONTROL_DIR/toggle-fail exists, else forwarded
    /BUCKET/denied/...    403 AccessDenied for keys whose name starts with "private-" (what S3
                          answers for a key the policy denies, or for a missing key without
                          s3:ListBucket), others forwarded: one store, some keys denied
    /BUCKET/badkey/...    403 InvalidAccessKeyId, never forwarded (wrong credentials)
    /BUCKET/nobucket/...  404 NoSuchBucket, never forwarded (what AWS answers for a bucket that
                          does not exist; s3s-fs answers NoSuchKey)

Error answers carry S3's XML error body, except to HEAD, which S3 answers without a body (so
only the status reaches the client).

Every request is appended to CONTROL_DIR/requests.log as "MODE METHOD PATH", so tests can count
what reached the proxy. Stdlib only; one thread per connection; every wait is bounded.

Usage: fault-proxy.py LISTEN_PORT UPSTREAM_PORT CONTROL_DIR
"""

import http.client
import http.server
import os
import sys
import threading
import time

LISTEN, UPSTREAM, CONTROL = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
LOG_LOCK = threading.Lock()

ERROR_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<Error><Code>{code}</Code><Message>{message}</Message></Error>"
)


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet: requests.log is the record
        pass

    def mode(self):
        parts = self.path.split("?")[0].split("/")
        return parts[2] if len(parts) > 2 else ""

    def record(self, mode):
        with LOG_LOCK, open(os.path.join(CONTROL, "requests.log"), "a") as log:
            log.write(f"{mode} {self.command} {self.path}\n")

    def error(self, status, code, message):
        body = ERROR_XML.format(code=code, message=message).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        mode = self.mode()
        self.record(mode)
        if mode == "e500":
            return self.error(500, "InternalError", "injected fault")
        if mode == "slowdown":
            return self.error(503, "SlowDown", "Please reduce your request rate.")
        if mode == "denied" and self.path.split("?")[0].rsplit("/", 1)[-1].startswith("private-"):
            return self.error(403, "AccessDenied", "Access Denied")
        if mode == "badkey":
            return self.error(403, "InvalidAccessKeyId",
                              "The AWS Access Key Id you provided does not exist in our records.")
        if mode == "nobucket":
            return self.error(404, "NoSuchBucket", "The specified bucket does not exist")
        if mode == "toggle" and os.path.exists(os.path.join(CONTROL, "toggle-fail")):
            return self.error(500, "InternalError", "injected fault (toggle)")
        if mode == "hang":
            self.close_connection = True
            deadline = time.time() + 120
            while time.time() < deadline:
                # The client hanging up shows as a readable (EOF) socket.
                self.connection.settimeout(0.5)
                try:
                    if self.connection.recv(1, 0x2) == b"":  # MSG_PEEK
                        return
                except OSError as e:
                    if "timed out" not in str(e):
                        return
            return
        self.forward(trickle=(mode == "trickle"))

    def forward(self, trickle):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        upstream = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=30)
        headers = {k: v for k, v in self.headers.items()}
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        self.send_response(response.status)
        for k, v in response.getheaders():
            if k.lower() not in ("transfer-encoding", "connection"):
                self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD":
            return
        try:
            if trickle:
                self.close_connection = True
                deadline = time.time() + 120
                for i in range(len(data)):
                    if time.time() > deadline:
                        return
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
                    time.sleep(0.5)
            else:
                self.wfile.write(data)
        except OSError:
            self.close_connection = True

    do_GET = do_HEAD = do_PUT = do_DELETE = do_POST = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    server = Server(("127.0.0.1", LISTEN), Proxy)
    print(f"fault-proxy: 127.0.0.1:{LISTEN} -> 127.0.0.1:{UPSTREAM}", flush=True)
    server.serve_forever()
