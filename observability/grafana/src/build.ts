// Writes each dashboard as JSON into the directory given (observability/grafana/dashboards,
// which Grafana's file provisioning reads) and, when a second path is given, every PromQL query
// into it, one a line, so scripts/dashboards-check can have promtool parse each one.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Panel, RowPanel } from '@grafana/schema';

import { all } from './dashboards.js';

const [out, queriesFile] = process.argv.slice(2);
if (!out) {
  throw new Error('usage: node build/build.js DIR [QUERIES_FILE]');
}
mkdirSync(out, { recursive: true });
const queries: string[] = [];
for (const [name, dashboard] of Object.entries(all)) {
  writeFileSync(join(out, `${name}.json`), JSON.stringify(dashboard, null, 2) + '\n');
  for (const panel of (dashboard.panels ?? []) as Array<Panel | RowPanel>) {
    for (const target of ('targets' in panel ? panel.targets : undefined) ?? []) {
      const expr = (target as { expr?: unknown }).expr;
      if (typeof expr === 'string') {
        queries.push(expr);
      }
    }
  }
}
if (queriesFile) {
  writeFileSync(queriesFile, queries.join('\n') + '\n');
}
