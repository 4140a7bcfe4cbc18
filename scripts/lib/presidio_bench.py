"""Redaction side by side: selfheal's redactor (`selfheal redact`, the release binary) and
Microsoft Presidio's analyzer on the same log corpus (crates/core/benches/corpus.log, what the
criterion benchmark reads): throughput, and which planted secrets and personal data each finds.

spaCy's language models cannot be downloaded here, so Presidio runs on a blank English pipeline:
its pattern recognizers (email, credit card, IP, phone, URL, ...) work, its NER (names, places)
does not. Those pattern recognizers are what the comparison is about.

usage: presidio_bench.py CORPUS SELFHEAL_BINARY
"""

import logging
import subprocess
import sys
import time

import spacy
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import SpacyNlpEngine

# tldextract tries to refresh the public suffix list from the Internet and logs the failure.
logging.disable(logging.WARNING)

# (kind, a log line, the value that must not survive)
PLANTED = [
    ("aws_access_key", "boot with key AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("aws_secret", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("github_token", "clone with ghp_0123456789abcdefghijklmnopqrstuvwxyzAB", "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"),
    ("slack_token", "notify xoxb-1234567890-abcdefghijkl", "xoxb-1234567890-abcdefghijkl"),
    ("slack_webhook", "POST https://hooks.slack.com/services/T000/B000/XXXXXXXX", "T000/B000/XXXXXXXX"),
    ("stripe_key", "charge with sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("openai_key", "llm key sk-proj-abcdefghijklmnopqrstuvwx", "sk-proj-abcdefghijklmnopqrstuvwx"),
    ("jwt", "sa token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlLXBhcnQ", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlLXBhcnQ"),
    ("bearer", "Authorization: Bearer abcdefghijklmnop0123", "abcdefghijklmnop0123"),
    ("url_credentials", "dsn postgres://app:hunter22@db:5432/shop", "hunter22"),
    ("password", '{"password": "hunter22x"}', "hunter22x"),
    ("email", "login failed for ana@example.com", "ana@example.com"),
    ("card", "card 4111 1111 1111 1111 declined", "4111 1111 1111 1111"),
    ("phone", "call +1 415 555 2671 back", "415 555 2671"),
    ("ip", "client 203.0.113.7 said hello", "203.0.113.7"),
]
# Look-alikes that must survive: digests, UUIDs, pod names, trace ids, timestamps.
KEPT = [
    "pulled ghcr.io/shop/backend@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "request 123e4567-e89b-12d3-a456-426614174000 took 230ms",
    "pod backend-7d9f8c6b5-x2k4q restarted",
    "trace_id=4bf92f3577b34da6a3ce929d0e0e4736",
    "2026-11-25T21:30:01.700Z order 1234567890123 shipped",
]


class BlankEnglish(SpacyNlpEngine):
    """spaCy without a downloaded model: tokenizer only."""

    def __init__(self):
        super().__init__(models=[{"lang_code": "en", "model_name": "blank"}])

    def load(self):
        self.nlp = {"en": spacy.blank("en")}


def selfheal(binary, text):
    out = subprocess.run([binary, "redact"], input=text.encode(), capture_output=True, check=True)
    return out.stdout.decode()


def main():
    corpus_path, binary = sys.argv[1], sys.argv[2]
    lines = open(corpus_path).read().splitlines()
    engine = AnalyzerEngine(nlp_engine=BlankEnglish(), supported_languages=["en"])

    def presidio_redact(line):
        found = engine.analyze(text=line, language="en")
        out, last = [], 0
        for r in sorted(found, key=lambda r: r.start):
            if r.start >= last:
                out.append(line[last:r.start] + f"<{r.entity_type}>")
                last = r.end
        return "".join(out) + line[last:]

    def text_of(size):
        out = []
        n = 0
        while n < size:
            for line in lines:
                out.append(line)
                n += len(line) + 1
        return "\n".join(out) + "\n"

    big = text_of(1 << 20)
    selfheal(binary, "warm up\n")
    start = time.perf_counter()
    selfheal(binary, big)
    ours = len(big) / (time.perf_counter() - start) / 1e6
    small = text_of(64 << 10)
    start = time.perf_counter()
    for line in small.splitlines():
        engine.analyze(text=line, language="en")
    theirs = len(small) / (time.perf_counter() - start) / 1e6
    print(f"throughput on {corpus_path}")
    print(f"  selfheal redact (1 MiB, one process, startup included)  {ours:10.2f} MB/s")
    print(f"  presidio-analyzer (64 KiB, line by line)                {theirs:10.2f} MB/s")
    print(f"  ratio                                                   {ours / theirs:10.0f}x")

    planted = "\n".join(line for _, line, _ in PLANTED) + "\n"
    ours_out = selfheal(binary, planted).splitlines()
    print("\nplanted secrets and personal data: removed?")
    print(f"  {'kind':18} {'selfheal':9} presidio")
    missed = 0
    for (kind, line, value), red in zip(PLANTED, ours_out):
        a = value not in red
        b = value not in presidio_redact(line)
        missed += not a
        print(f"  {kind:18} {'yes' if a else 'NO':9} {'yes' if b else 'no'}")
    kept = "\n".join(KEPT) + "\n"
    print("\nlook-alikes: left alone?")
    damaged = 0
    for line, red in zip(KEPT, selfheal(binary, kept).splitlines()):
        a = red == line
        b = presidio_redact(line) == line
        damaged += not a
        print(f"  {line[:60]:62} {'yes' if a else 'NO':4} {'yes' if b else 'no'}")
    if missed or damaged:
        sys.exit(f"selfheal missed {missed} planted values and damaged {damaged} look-alikes")


if __name__ == "__main__":
    main()
