"""The shop's traffic as Locust runs it here, against the sample app's frontend on 127.0.0.1 (the
same requests as chaos/load/shop.ts: GET / and the same checks), so the burn-rate and saturation
rules see real traffic. scripts/load-check runs it headless against the three tiers.

  locust -f chaos/load/locustfile.py --headless -u 20 -r 20 -t 1m --host http://127.0.0.1:PORT
"""
from locust import HttpUser, constant_throughput, task


class Shopper(HttpUser):
    # One request per user per second: 20 users, 20 requests a second, as the k6 steady scenario.
    wait_time = constant_throughput(1)

    @task
    def browse(self):
        with self.client.get("/", name="/", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"status {r.status_code}")
                return
            body = r.json()
            if body.get("trace_id") != (body.get("backend") or {}).get("trace_id"):
                r.failure("the backend answered under another trace")
