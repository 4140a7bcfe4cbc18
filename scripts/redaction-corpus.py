#!/usr/bin/env python3
"""Writes crates/core/tests/redaction/corpus.jsonl: log lines in the formats selfheal reads
(nginx access logs, JSON app logs, logfmt, Python tracebacks, kubelet's klog lines and Go struct
dumps, Kubernetes events, CI output), each with the secrets and personal data it carries
labelled by offset, and look-alikes that must survive (digests, UUIDs, pod names, trace ids,
secret *names*, token counts).

The line shapes follow each tool's documented format (nginx's `combined`, klog's header, zap's
and pino's JSON keys, GitHub Actions' `##[group]`); the values follow each credential's
published format (AWS, GitHub, Slack app-level and bot tokens, Stripe keys and webhook secrets,
JWTs, PEM keys). Seeded, so the file is reproducible:

  scripts/redaction-corpus.py            rewrite the corpus
  scripts/redaction-corpus.py --check    fail when the committed corpus differs
"""
import base64
import json
import pathlib
import random
import string
import sys

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/core/tests/redaction/corpus.jsonl"
R = random.Random(20261207)
ALNUM = string.ascii_letters + string.digits


def rs(n, alphabet=ALNUM):
    return "".join(R.choice(alphabet) for _ in range(n))


# --- values -------------------------------------------------------------------------------

WORDS = ["correct", "horse", "battery", "staple", "orange", "river", "falcon", "copper", "winter", "lantern"]
FIRST = ["Jane", "John", "Maria", "Ahmed", "Li", "Olga", "Carlos", "Aisha", "Tom", "Priya", "Lukas", "Sofia"]
LAST = ["Smith", "Doe", "Garcia", "Khan", "Wei", "Ivanova", "Mendes", "Okafor", "Brown", "Patel", "Novak", "Rossi"]
DOMAINS = ["example.com", "shop.example", "mail.example.org", "corp.example.net"]


def password():
    style = R.randrange(4)
    if style == 0:
        return R.choice(WORDS).capitalize() + str(R.randrange(10, 9999)) + R.choice("!#$%&*")
    if style == 1:
        return rs(R.randrange(12, 33), ALNUM + "!#%*+-_.")
    if style == 2:
        return rs(R.randrange(20, 41))
    return R.choice(WORDS) + "-" + R.choice(WORDS) + "-" + str(R.randrange(100))


def passphrase():
    return " ".join(R.choice(WORDS) for _ in range(R.randrange(3, 5)))


def aws_key():
    return R.choice(["AKIA", "ASIA"]) + rs(16, string.ascii_uppercase + "234567")


def aws_secret():
    return rs(40, ALNUM + "/+")


def github_token():
    return R.choice(["ghp_", "gho_", "ghs_"]) + rs(36)


def slack_bot():
    return f"xoxb-{R.randrange(10**11, 10**12)}-{R.randrange(10**12, 10**13)}-{rs(24)}"


def slack_app():
    return f"xapp-1-A{rs(10, string.ascii_uppercase + string.digits)}-{R.randrange(10**12, 10**13)}-{rs(64, '0123456789abcdef')}"


def stripe_key():
    return R.choice(["sk_live_", "rk_live_", "sk_test_"]) + rs(24)


def stripe_whsec():
    return "whsec_" + rs(32)


def jwt():
    b = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")
    return b({"alg": "RS256", "typ": "JWT"}) + "." + b({"sub": rs(8), "exp": R.randrange(1_700_000_000, 1_800_000_000)}) + "." + rs(43, ALNUM + "-_")


def pem(cut=False):
    body = "\n".join(rs(64, ALNUM + "+/") for _ in range(R.randrange(3, 6))) + "\n" + rs(24, ALNUM + "+/") + "=="
    kind = R.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY"])
    if cut:
        return f"{body}\n-----END {kind}-----"
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----"


def generic_token():
    return rs(R.randrange(24, 48), ALNUM + "-_")


def person():
    return f"{R.choice(FIRST)} {R.choice(LAST)}"


def email():
    return f"{R.choice(FIRST).lower()}.{R.choice(LAST).lower()}{R.randrange(100)}@{R.choice(DOMAINS)}"


def phone():
    return R.choice([
        f"+1 {R.randrange(200, 999)} {R.randrange(200, 999)} {R.randrange(1000, 9999)}",
        f"+44 20 {R.randrange(1000, 9999)} {R.randrange(1000, 9999)}",
        f"+49 30 {R.randrange(100000, 999999)}{R.randrange(10, 99)}",
        f"({R.randrange(200, 999)}) {R.randrange(200, 999)}-{R.randrange(1000, 9999)}",
    ])


def card():
    digits = [4] + [R.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    return R.choice([s, " ".join(s[i:i + 4] for i in range(0, 16, 4)), "-".join(s[i:i + 4] for i in range(0, 16, 4))])


def ip():
    return R.choice([
        f"203.0.113.{R.randrange(1, 255)}", f"198.51.100.{R.randrange(1, 255)}",
        f"10.{R.randrange(256)}.{R.randrange(256)}.{R.randrange(1, 255)}",
        f"192.168.{R.randrange(256)}.{R.randrange(1, 255)}",
    ])


def urlenc(v):
    return "".join(c if c.isalnum() or c in "-_.~" else "%{:02X}".format(ord(c)) for c in v)


# Key names in the spellings real configs use.
# Keys people set passwords under, and keys that hold generated tokens.
PASSWORD_KEYS = ["password", "DB_PASSWORD", "REDIS_PASSWORD", "dbPassword", "DbPassword", "db-password",
                 "spring.datasource.password", "POSTGRES_PASSWORD", "adminPass", "passwd", "pwd", "db_pwd",
                 "secret", "credentials"]
TOKEN_KEYS = ["client_secret", "clientSecret", "CLIENT_SECRET", "api_key", "apiKey", "X-Api-Key", "API_KEY",
              "access_token", "accessToken", "refresh_token", "SLACK_BOT_TOKEN", "auth_token", "authToken",
              "SECRET_KEY", "webhookSecret", "STRIPE_WEBHOOK_SECRET", "private_key", "session_secret",
              "encryption_key"]
SECRET_KEYS = PASSWORD_KEYS + TOKEN_KEYS
NAME_KEYS = ["user", "username", "customer", "customer_name", "name", "full_name", "owner", "account_holder", "author"]


def secret_value(key):
    """What a key holds: a password someone chose, or a generated token."""
    if key in PASSWORD_KEYS:
        return password()
    return R.choice([generic_token, aws_secret, stripe_key, github_token])()


# --- lines ---------------------------------------------------------------------------------

class Line:
    def __init__(self, fmt):
        self.fmt, self.parts, self.labels = fmt, [], []

    def t(self, text):
        self.parts.append(text)
        return self

    def v(self, kind, value):
        start = sum(len(p) for p in self.parts)
        self.parts.append(value)
        self.labels.append({"kind": kind, "start": start, "end": start + len(value), "value": value})
        return self

    def done(self):
        text = "".join(self.parts)
        assert text.isascii(), text  # offsets are bytes to the Rust side
        for lab in self.labels:
            assert text[lab["start"]:lab["end"]] == lab["value"]
        return {"format": self.fmt, "text": text, "labels": self.labels}


def ts():
    return f"2026-11-25T21:{R.randrange(60):02d}:{R.randrange(60):02d}.{R.randrange(1000):03d}Z"


def nginx():
    line = Line("nginx").v("pii", ip()).t(" - ")
    if R.random() < 0.3:
        line.v("pii", email())
    else:
        line.t("-")
    line.t(f" [25/Nov/2026:21:{R.randrange(60):02d}:{R.randrange(60):02d} +0000] \"GET /api/v1/")
    q = R.choice(["token", "api_key", "access_token", "apiKey", "sig", "client_secret", "password"])
    line.t(R.choice(["orders", "search", "callback", "export"]) + "?page=2&" + q + "=")
    # Query parameters carry generated tokens and signatures; a password only under its name.
    val = password() if q == "password" else R.choice([generic_token(), stripe_key(), rs(64, "0123456789abcdef")])
    line.v("secret", urlenc(val)).t(f"&lang=en HTTP/1.1\" {R.choice([200, 401, 500])} {R.randrange(100, 9000)} \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\"")
    return line.done()


def json_app():
    line = Line("json").t('{"level":"' + R.choice(["error", "warn", "info"]) + '","ts":"' + ts() + '","logger":"db","msg":"')
    line.t(R.choice(["connection refused", "config loaded", "login failed", "payment declined"]) + '"')
    for _ in range(R.randrange(1, 4)):
        what = R.randrange(6)
        if what == 0:
            key = R.choice(SECRET_KEYS)
            line.t(',"' + key + '":"').v("secret", secret_value(key)).t('"')
        elif what == 1:
            line.t(',"' + R.choice(["email", "user_email", "contact"]) + '":"').v("pii", email()).t('"')
        elif what == 2:
            line.t(',"' + R.choice(NAME_KEYS) + '":"').v("pii", person()).t('"')
        elif what == 3:
            line.t(',"client_ip":"').v("pii", ip()).t('"')
        elif what == 4:
            # A request body logged as a string: escaped JSON.
            if R.random() < 0.3:
                line.t(',"body":"{\\"card_number\\":\\"').v("pii", card()).t('\\"}"')
            else:
                line.t(',"body":"{\\"' + R.choice(["password", "apiKey", "client_secret"]) + '\\":\\"')
                line.v("secret", password()).t('\\"}"')
        else:
            line.t(',"phone":"').v("pii", phone()).t('"')
    line.t(',"trace_id":"' + rs(32, "0123456789abcdef") + '","pod":"backend-7d9f8c6b5-' + rs(5, "bcdfghjklmnpqrstvwxz2456789") + '"}')
    return line.done()


def logfmt():
    line = Line("logfmt").t(f"time={ts()} level={R.choice(['error', 'warn', 'info'])} msg=\"")
    line.t(R.choice(["starting worker", "retrying request", "auth failed", "env dump"]) + "\"")
    for _ in range(R.randrange(1, 4)):
        what = R.randrange(5)
        if what == 0:
            key = R.choice(SECRET_KEYS)
            line.t(" " + key + "=").v("secret", secret_value(key))
        elif what == 1:
            line.t(" " + R.choice(NAME_KEYS) + "=\"").v("pii", person()).t("\"")
        elif what == 2:
            line.t(" email=").v("pii", email())
        elif what == 3:
            line.t(" " + R.choice(["password", "passphrase", "secret"]) + "=\"").v("secret", passphrase()).t("\"")
        else:
            line.t(" remote=").v("pii", ip()).t(f":{R.randrange(1024, 65535)}")
    line.t(" duration=" + str(R.randrange(1, 900)) + "ms")
    return line.done()


def traceback():
    line = Line("python").t("Traceback (most recent call last):\n  File \"/app/shop/db.py\", line 42, in connect\n    conn = psycopg2.connect(dsn)\n")
    what = R.randrange(4)
    if what == 0:
        line.t("psycopg2.OperationalError: connection to server failed for dsn postgresql://app:").v("secret", password()).t("@db.shop.svc:5432/shop")
    elif what == 1:
        line.t("redis.exceptions.AuthenticationError: redis://:").v("secret", password()).t("@redis:6379/0 invalid password")
    elif what == 2:
        line.t("stripe.error.AuthenticationError: Invalid API Key provided: ").v("secret", stripe_key())
    else:
        line.t("ValueError: invalid customer record {'name': '").v("pii", person()).t("', 'email': '").v("pii", email()).t("'}")
    return line.done()


def kubelet():
    head = f"E1125 21:{R.randrange(60):02d}:{R.randrange(60):02d}.{R.randrange(10**6):06d}    {R.randrange(1000, 9999)} kuberuntime_manager.go:{R.randrange(100, 1400)}] "
    line = Line("kubelet").t(head)
    what = R.randrange(3)
    if what == 0:
        # Go's %+v of a container spec, as kubelet logs it on a failed start.
        line.t("container &Container{Name:backend,Image:ghcr.io/selfheal/backend:2.1.0,Env:[]EnvVar{EnvVar{Name:LOG_LEVEL,Value:info,ValueFrom:nil,},EnvVar{Name:")
        name = R.choice(["DB_PASSWORD", "API_TOKEN", "STRIPE_KEY", "REDIS_PASSWORD"])
        value = password() if "PASSWORD" in name else R.choice([generic_token, stripe_key])()
        line.t(name + ",Value:").v("secret", value)
        line.t(",ValueFrom:nil,},},} start failed in pod backend-7d9f8c6b5-x2k4q_shop")
    elif what == 1:
        line.t("\"Failed to pull image\" err=\"unauthorized: authentication required\" image=\"ghcr.io/selfheal/backend:2.1.0\" pod=\"shop/backend-7d9f8c6b5-x2k4q\" podIP=\"").v("pii", ip()).t("\"")
        line.t(" auth={Username:ci-bot Password:").v("secret", github_token()).t("}")
    else:
        line.t("\"Probe failed\" probeType=\"Readiness\" pod=\"shop/frontend-5c6d7f8b9-q8w7z\" output=\"Get \\\"http://").v("pii", ip()).t(":8080/ready\\\": context deadline exceeded\"")
    return line.done()


def event():
    line = Line("event").t(f"{R.choice(['Warning', 'Normal'])}  {R.choice(['Failed', 'BackOff', 'Unhealthy'])}  {R.randrange(1, 59)}s  kubelet  ")
    what = R.randrange(2)
    if what == 0:
        line.t("Error: failed to create containerd task: exec: \"/entrypoint.sh --db-password=").v("secret", password()).t("\": permission denied")
    else:
        line.t("Readiness probe failed: HTTP probe failed with statuscode: 401, Authorization: Bearer ").v("secret", generic_token())
    return line.done()


def ci():
    line = Line("ci")
    what = R.randrange(8)
    if what == 0:
        line.t("##[group]Run docker login ghcr.io -u ci-bot --password ").v("secret", github_token()).t("\n##[endgroup]")
    elif what == 1:
        line.t("+ export STRIPE_WEBHOOK_SECRET=").v("secret", stripe_whsec())
    elif what == 2:
        line.t("+ curl -sf -H 'Authorization: Bearer ").v("secret", jwt()).t("' https://api.shop.example/deploy")
    elif what == 3:
        line.t("+ npm config set //registry.npmjs.org/:_authToken ").v("secret", "npm_" + rs(36))
    elif what == 4:
        line.t("+ ./deploy.sh --api-key=").v("secret", generic_token()).t(" --region eu-west-1")
    elif what == 5:
        line.t("+ aws configure set aws_access_key_id ").v("secret", aws_key()).t(" && aws configure set aws_secret_access_key ").v("secret", aws_secret())
    elif what == 6:
        line.t("+ slack-notify --app-token ").v("secret", slack_app()).t(" --bot-token ").v("secret", slack_bot())
    else:
        line.t("+ cat deploy/key.pem\n").v("secret", pem(cut=R.random() < 0.5))
    return line.done()


def prose():
    line = Line("prose")
    what = R.randrange(5)
    if what == 0:
        line.t("Set the admin password to ").v("secret", password()).t(" after the restore.")
    elif what == 1:
        line.t("The staging API key is ").v("secret", generic_token()).t(", rotate it on Friday.")
    elif what == 2:
        line.t("Use token ").v("secret", github_token()).t(" for the release job.")
    elif what == 3:
        line.t("Ticket opened by ").v("pii", person()).t(" (").v("pii", email()).t("), call ").v("pii", phone()).t(".")
    else:
        line.t("Refund card ").v("pii", card()).t(" for customer ").v("pii", person()).t(".")
    return line.done()


def go_struct():
    line = Line("go").t("config loaded: &{Host:db.shop.svc Port:5432 User:app Password:").v("secret", password())
    line.t(" SSLMode:require}")
    return line.done()


# Look-alikes: nothing in them is a secret or personal data.
NEGATIVES = [
    lambda: f"pulled image ghcr.io/selfheal/backend@sha256:{rs(64, '0123456789abcdef')}",
    lambda: f"request {rs(8, '0123456789abcdef')}-{rs(4, '0123456789abcdef')}-4{rs(3, '0123456789abcdef')}-a{rs(3, '0123456789abcdef')}-{rs(12, '0123456789abcdef')} failed",
    lambda: f"pod shop/backend-7d9f8c6b5-{rs(5, 'bcdfghjklmnpqrstvwxz2456789')} restarted, exit code 137",
    lambda: f"trace_id={rs(32, '0123456789abcdef')} span_id={rs(16, '0123456789abcdef')}",
    lambda: f"envFrom secretRef name=app-secrets; secretName: db-credentials",
    lambda: f"password_file=/run/secrets/db-password token_type=bearer",
    lambda: f"llm usage: max_tokens={R.randrange(256, 8192)} tokens_used={R.randrange(10, 5000)}",
    lambda: "passwordless=true sso=enabled",
    lambda: f"order {R.randrange(10**12, 10**13)} total 59.90 EUR",
    lambda: f"{ts()} GET /healthz 200 {R.randrange(1, 9)}ms",
    lambda: "PWD=/app HOME=/home/app SHELL=/bin/sh",
    lambda: f"commit {rs(40, '0123456789abcdef')} by ci",
    lambda: f"name: frontend-{R.randrange(10)} namespace: shop kind: Deployment",
    lambda: f"\"user\":\"system:serviceaccount:shop:backend\" verb=get resource=secrets",
    lambda: f"image ghcr.io/selfheal/frontend:{R.randrange(1, 4)}.{R.randrange(10)}.{R.randrange(10)} pulled in {R.randrange(100, 9000)}ms",
    lambda: f"-----BEGIN CERTIFICATE----- (public certificate omitted) version {R.randrange(1, 9)}",
]


def negative():
    return {"format": "negative", "text": R.choice(NEGATIVES)(), "labels": []}


GENERATORS = [(nginx, 3), (json_app, 4), (logfmt, 4), (traceback, 2), (kubelet, 3), (event, 2), (ci, 4),
              (prose, 2), (go_struct, 1), (negative, 5)]


def corpus(n=1500):
    weighted = [g for g, w in GENERATORS for _ in range(w)]
    return [R.choice(weighted)() for _ in range(n)]


def main():
    text = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in corpus())
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != text:
            sys.exit(f"{OUT} is not what scripts/redaction-corpus.py writes; run it")
        return
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(text)} bytes)")


if __name__ == "__main__":
    main()
