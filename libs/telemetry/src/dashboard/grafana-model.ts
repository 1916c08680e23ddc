/**
 * The subset of Grafana's dashboard JSON model (schemaVersion 39) the generator writes. Plain typed objects, so
 * the committed JSON is exactly what these produce.
 */
export interface DataSourceRef {
  type: 'prometheus';
  uid: string;
}

export interface PrometheusTarget {
  datasource: DataSourceRef;
  refId: string;
  expr: string;
  legendFormat: string;
  editorMode: 'code';
  range: boolean;
  format?: 'time_series' | 'heatmap';
}

export interface GridPos {
  h: number;
  w: number;
  x: number;
  y: number;
}

export interface FieldConfig {
  defaults: {
    unit?: string;
    min?: number;
    max?: number;
    decimals?: number;
    color?: { mode: string };
    thresholds?: { mode: 'absolute'; steps: Array<{ color: string; value: number | null }> };
    custom?: Record<string, unknown>;
    mappings?: unknown[];
  };
  overrides: unknown[];
}

export interface GraphPanel {
  id: number;
  type: 'timeseries' | 'heatmap' | 'stat';
  title: string;
  description: string;
  datasource: DataSourceRef;
  gridPos: GridPos;
  fieldConfig: FieldConfig;
  options: Record<string, unknown>;
  targets: PrometheusTarget[];
}

export interface RowPanel {
  id: number;
  type: 'row';
  title: string;
  collapsed: boolean;
  gridPos: GridPos;
  panels: [];
}

export type Panel = GraphPanel | RowPanel;

export interface TemplateVariable {
  name: string;
  label: string;
  type: 'datasource' | 'query';
  description?: string;
  hide: 0 | 1 | 2;
  query: unknown;
  definition?: string;
  datasource?: DataSourceRef;
  current: Record<string, unknown>;
  options: unknown[];
  refresh: 0 | 1 | 2;
  regex: string;
  includeAll?: boolean;
  multi?: boolean;
  allValue?: string;
  sort?: number;
}

export interface Dashboard {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  editable: boolean;
  graphTooltip: 0 | 1 | 2;
  schemaVersion: number;
  version: number;
  refresh: string;
  time: { from: string; to: string };
  timezone: string;
  annotations: { list: unknown[] };
  links: unknown[];
  templating: { list: TemplateVariable[] };
  panels: Panel[];
}
