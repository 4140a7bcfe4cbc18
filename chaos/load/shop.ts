// The shop's traffic for a cluster, as k6 runs it (k6 run chaos/load/shop.ts, BASE_URL=the
// frontend): a steady browse, then a spike to ten times the rate that saturates the backend's
// CPU the way chaos/scenarios/load-backend.yaml does in the lab, so ServiceCPUSaturated fires
// and scale-services is seen adding replicas while the load lasts. The thresholds are the
// sample app's SLOs (99.9% available, 99% under 0.5 s): k6 exits non-zero when they break.
// Type-checked against @types/k6 in scripts/load-check (k6 itself does not install here).
import http from "k6/http";
import { check } from "k6";
import { Options } from "k6/options";

const base = __ENV.BASE_URL || "http://frontend.shop.svc.cluster.local:8080";

export const options: Options = {
  scenarios: {
    steady: {
      executor: "constant-arrival-rate",
      rate: 20,
      timeUnit: "1s",
      duration: "15m",
      preAllocatedVUs: 20,
      maxVUs: 100,
    },
    spike: {
      executor: "ramping-arrival-rate",
      startTime: "5m",
      startRate: 20,
      timeUnit: "1s",
      preAllocatedVUs: 50,
      maxVUs: 500,
      stages: [
        { target: 200, duration: "1m" },
        { target: 200, duration: "5m" },
        { target: 20, duration: "1m" },
      ],
    },
  },
  thresholds: {
    http_req_failed: ["rate<0.001"],
    http_req_duration: ["p(99)<500"],
  },
};

export default function (): void {
  const res = http.get(`${base}/`, { tags: { route: "/" } });
  check(res, {
    "status is 200": (r) => r.status === 200,
    "one trace through the tiers": (r) => {
      const body = r.json() as { trace_id?: string; backend?: { trace_id?: string } } | null;
      return !!body && body.trace_id === body.backend?.trace_id;
    },
  });
}
