"""A webhook receiver for capturing what a real Alertmanager sends.

POST /alerts  (webhook_configs): the body is written as-is to OUT/<n>-webhook.json.
POST /sns     (sns_configs, the Amazon Managed Prometheus path): the SNS Publish call is decoded and
              its Message and TopicArn written to OUT/<n>-sns.json; answered like SNS answers.
Every request's Authorization header is appended to OUT/headers.log.
"""
import http.server
import itertools
import json
import pathlib
import sys
import urllib.parse

OUT = pathlib.Path(sys.argv[2])
COUNTER = itertools.count(1)


class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        n = next(COUNTER)
        with open(OUT / "headers.log", "a") as log:
            log.write(f"{n} {self.path} {self.headers.get('Authorization', '-')[:40]}\n")
        if self.path.startswith("/sns"):
            form = urllib.parse.parse_qs(body.decode())
            record = {"TopicArn": form["TopicArn"][0], "Message": form["Message"][0],
                      "Subject": form.get("Subject", [None])[0]}
            (OUT / f"{n:03d}-sns.json").write_text(json.dumps(record))
            reply = (b"<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
                     b"<PublishResult><MessageId>%d</MessageId></PublishResult>"
                     b"<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>" % n)
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
        else:
            (OUT / f"{n:03d}-webhook.json").write_bytes(body)
            reply = b""
            self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
