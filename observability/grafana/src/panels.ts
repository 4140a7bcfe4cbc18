// Small builders for the panels the dashboards share, typed against @grafana/schema so a
// field Grafana does not know, or a value of the wrong kind, fails `tsc`.
import type { Dashboard, Panel, VariableModel } from '@grafana/schema';

/** The Prometheus data source every panel reads, chosen by the dashboard's variable. */
export const prometheus = { type: 'prometheus', uid: '${datasource}' };

let nextId = 1;

type GridPos = { x: number; y: number; w: number; h: number };

/** A panel of `type` reading PromQL queries, each `[expr, legend]`. */
function panel(
  type: string,
  title: string,
  unit: string,
  queries: Array<[string, string]>,
  gridPos: GridPos,
  description: string,
  options: Record<string, unknown>,
): Panel {
  return {
    id: nextId++,
    type,
    title,
    description,
    datasource: prometheus,
    gridPos,
    fieldConfig: { defaults: { unit }, overrides: [] },
    options,
    targets: queries.map(([expr, legendFormat], i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: prometheus,
      expr,
      ...(legendFormat ? { legendFormat } : {}),
    })),
  };
}

/** A time series panel of PromQL queries, each `[expr, legend]`. */
export function timeseries(
  title: string,
  unit: string,
  queries: Array<[string, string]>,
  gridPos: GridPos,
  description = '',
): Panel {
  const legend = { displayMode: 'table', placement: 'bottom', calcs: ['lastNotNull', 'max'] };
  return panel('timeseries', title, unit, queries, gridPos, description, { legend });
}

/** A single number. */
export function stat(title: string, unit: string, expr: string, gridPos: GridPos, description = ''): Panel {
  const reduceOptions = { calcs: ['lastNotNull'], fields: '', values: false };
  return panel('stat', title, unit, [[expr, '']], gridPos, description, { reduceOptions });
}

/** The data source picker, and label pickers fed by a query. */
export function variables(labels: Array<[string, string]>): VariableModel[] {
  const datasource: VariableModel = {
    name: 'datasource',
    label: 'Data source',
    type: 'datasource',
    query: 'prometheus',
  };
  return [
    datasource,
    ...labels.map(
      ([name, query]): VariableModel => ({
        name,
        label: name,
        type: 'query',
        datasource: prometheus,
        query,
        refresh: 2,
        includeAll: true,
        multi: true,
      }),
    ),
  ];
}

/** A dashboard with selfheal's defaults. */
export function dashboard(uid: string, title: string, description: string, panels: Panel[], vars: VariableModel[]): Dashboard {
  return {
    uid,
    title,
    description,
    tags: ['selfheal'],
    schemaVersion: 41,
    editable: true,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    timezone: 'utc',
    templating: { list: vars },
    panels,
  };
}
