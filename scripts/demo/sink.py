"""A local alert sink for the demo: receives demandflow's Standard Webhooks and prints each alert.

Usage: python3 scripts/demo/sink.py PORT
Answers 204 to every POST; prints the webhook-id and the alert's title, score, category and link.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Sink(BaseHTTPRequestHandler):
    def do_POST(self):
        length = min(int(self.headers.get("content-length") or 0), 1 << 20)
        body = self.rfile.read(length)
        self.send_response(204)
        self.end_headers()
        try:
            message = json.loads(body)
            data = message.get("data") or {}
        except ValueError:
            message, data = {}, {}
        title = data.get("title") or "(no title)"
        print(
            f"  alert [{message.get('type', '?')}] {title} "
            f"(score {data.get('score', '?')}, {data.get('category') or 'no category'}) "
            f"{data.get('url') or ''}  webhook-id={self.headers.get('webhook-id')}",
            flush=True,
        )

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
