// The three dashboards: each service's golden signals, its SLOs and error budget, and selfheal
// itself. Their queries read the series observability/prometheus records and the metrics
// selfheal serves (selfheal_core::metrics).
import type { Dashboard } from '@grafana/schema';

import { dashboard, stat, timeseries, variables } from './panels.js';

const sel = 'namespace=~"$namespace", service=~"$service"';
const serviceVars = variables([
  ['namespace', 'label_values(http_requests_total, namespace)'],
  ['service', 'label_values(http_requests_total{namespace=~"$namespace"}, service)'],
]);

export const goldenSignals: Dashboard = dashboard(
  'selfheal-golden-signals',
  'Services: golden signals',
  'Traffic, errors, latency and saturation of each service of the sample app.',
  [
    timeseries('Traffic', 'reqps', [[`sum by (service) (rate(http_requests_total{${sel}}[$__rate_interval]))`, '{{service}}']], { x: 0, y: 0, w: 12, h: 8 }),
    timeseries('Errors', 'percentunit', [[`sum by (service) (rate(http_requests_total{${sel}, code=~"5.."}[$__rate_interval])) / sum by (service) (rate(http_requests_total{${sel}}[$__rate_interval]))`, '{{service}}']], { x: 12, y: 0, w: 12, h: 8 }),
    timeseries(
      'Latency',
      's',
      [
        [`histogram_quantile(0.5, sum by (service, le) (rate(http_request_duration_seconds_bucket{${sel}}[$__rate_interval])))`, 'p50 {{service}}'],
        [`histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket{${sel}}[$__rate_interval])))`, 'p99 {{service}}'],
      ],
      { x: 0, y: 8, w: 12, h: 8 },
    ),
    timeseries(
      'Saturation: CPU throttled',
      'percentunit',
      [[`sum by (pod) (rate(container_cpu_cfs_throttled_periods_total{namespace=~"$namespace", container!=""}[$__rate_interval])) / sum by (pod) (rate(container_cpu_cfs_periods_total{namespace=~"$namespace", container!=""}[$__rate_interval]))`, '{{pod}}']],
      { x: 12, y: 8, w: 12, h: 8 },
    ),
  ],
  serviceVars,
);

const budgetLeft = (sli: string, budget: string) =>
  `1 - (sum by (service) (slo:sli_${sli}:ratio_rate3d{${sel}}) * 3 / 30) / ${budget}`;

export const slo: Dashboard = dashboard(
  'selfheal-slo',
  'Services: SLOs and error budgets',
  'Availability (99.9% without a 5xx) and latency (99% within 0.5 s) per service, the error budget left, and the burn rate over each window the alerts use.',
  [
    stat('Availability budget left (30 d, from the 3 d rate)', 'percentunit', budgetLeft('error', '0.001'), { x: 0, y: 0, w: 6, h: 6 }),
    stat('Latency budget left (30 d, from the 3 d rate)', 'percentunit', budgetLeft('latency', '0.01'), { x: 6, y: 0, w: 6, h: 6 }),
    timeseries(
      'Availability burn rate',
      'none',
      ['5m', '30m', '1h', '6h', '1d', '3d'].map((w): [string, string] => [`sum by (service) (slo:sli_error:ratio_rate${w}{${sel}}) / 0.001`, `${w} {{service}}`]),
      { x: 0, y: 6, w: 12, h: 9 },
      'Page at 14.4 (1h and 5m) or 6 (6h and 30m); ticket at 3 (1d and 2h) or 1 (3d and 6h).',
    ),
    timeseries(
      'Latency burn rate',
      'none',
      ['5m', '30m', '1h', '6h', '1d', '3d'].map((w): [string, string] => [`sum by (service) (slo:sli_latency:ratio_rate${w}{${sel}}) / 0.01`, `${w} {{service}}`]),
      { x: 12, y: 6, w: 12, h: 9 },
    ),
  ],
  serviceVars,
);

export const selfheal: Dashboard = dashboard(
  'selfheal-itself',
  'selfheal',
  'What selfheal did: incidents by outcome, MTTR, steps by action and result, alerts refused by reason, approvals waiting.',
  [
    stat('Remediated (24 h)', 'none', 'sum(increase(selfheal_incidents_total{outcome="remediated"}[24h]))', { x: 0, y: 0, w: 6, h: 5 }),
    stat('Escalated (24 h)', 'none', 'sum(increase(selfheal_incidents_total{outcome="escalated"}[24h]))', { x: 6, y: 0, w: 6, h: 5 }),
    stat('False positives: skipped (24 h)', 'none', 'sum(increase(selfheal_incidents_total{outcome="skipped"}[24h]))', { x: 12, y: 0, w: 6, h: 5 }),
    stat('MTTR p50 (24 h)', 's', 'histogram_quantile(0.5, sum by (le) (increase(selfheal_mttr_seconds_bucket[24h])))', { x: 18, y: 0, w: 6, h: 5 }),
    timeseries('Incidents by outcome', 'none', [['sum by (outcome) (increase(selfheal_incidents_total[$__rate_interval]))', '{{outcome}}']], { x: 0, y: 5, w: 12, h: 8 }),
    timeseries('Steps by action and result', 'none', [['sum by (action, result) (increase(selfheal_actions_total[$__rate_interval]))', '{{action}} {{result}}']], { x: 12, y: 5, w: 12, h: 8 }),
    timeseries('Alerts by outcome', 'none', [['sum by (outcome) (increase(selfheal_alerts_total[$__rate_interval]))', '{{outcome}}']], { x: 0, y: 13, w: 12, h: 8 }),
    timeseries('Refusals by reason', 'none', [['sum by (reason) (increase(selfheal_alerts_refused_total[$__rate_interval]))', '{{reason}}']], { x: 12, y: 13, w: 12, h: 8 }),
    // Every request ends approved, rejected or expired, so what is neither is still waiting.
    stat('Approvals waiting', 'none', 'sum(selfheal_approvals_total{event="requested"}) - sum(selfheal_approvals_total{event!="requested"})', { x: 0, y: 21, w: 6, h: 8 },
      'Approval requests posted to Slack that nobody has approved or rejected yet, and that have not expired.'),
    timeseries('Approvals by event', 'none', [['sum by (event) (increase(selfheal_approvals_total[$__rate_interval]))', '{{event}}']], { x: 6, y: 21, w: 18, h: 8 }),
  ],
  variables([]),
);

export const all: Record<string, Dashboard> = {
  'golden-signals': goldenSignals,
  slo,
  selfheal,
};
