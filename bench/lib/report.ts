import { round } from './stats.js';

export interface BenchOptions {
  /** Seconds per measured round. */
  seconds: number;
  /** Measured rounds per figure (the median is reported). */
  rounds: number;
  /** Seconds of warm-up before the rounds. */
  warmup: number;
  /** Virtual users of the multi-step drivers. */
  vus: number;
  /** autocannon connections. */
  connections: number;
  /** The attack scenario's flood, writes a second from its one address; 0: as fast as the server answers. Default 1000. */
  attackRate?: number;
  redisUrl: string;
  /** PostgreSQL of the postgres scenarios. */
  databaseUrl: string;
  /** Pending sign-ons measured in Redis. */
  memoryRedisCount: number;
  /** Pending sign-ons measured in the in-memory store. */
  memoryHeapCount: number;
  log: (message: string) => void;
}

export interface Figure {
  value: number;
  unit: string;
  /** Other absolute numbers worth showing beside it. */
  detail?: string;
}

export interface Row {
  scenario: string;
  ours: Figure;
  baseline: Figure & { name: string };
  /** ours / baseline, or as `ratioLabel` says. */
  ratio: number;
  ratioLabel?: string;
  target: { op: '>=' | '<='; value: number } | null;
  met: boolean | null;
  /** Everything measured, per round. */
  raw?: unknown;
}

export function row(input: Omit<Row, 'met'>): Row {
  const met = input.target === null || !Number.isFinite(input.ratio)
    ? null
    : input.target.op === '>=' ? input.ratio >= input.target.value : input.ratio <= input.target.value;
  return { ...input, met };
}

function fmt(figure: Figure): string {
  const value = Math.abs(figure.value) >= 100 ? Math.round(figure.value).toString() : round(figure.value, 2).toString();
  return `${value} ${figure.unit}${figure.detail ? ` (${figure.detail})` : ''}`;
}

/** The results as a plain-text table. */
export function table(rows: Row[]): string {
  const header = ['scenario', 'ours', 'baseline', 'ratio', 'target', 'met?'];
  const lines = rows.map((r) => [
    r.scenario,
    fmt(r.ours),
    `${r.baseline.name}: ${fmt(r.baseline)}`,
    `${round(r.ratio, 3)}${r.ratioLabel ? ` ${r.ratioLabel}` : ''}`,
    r.target ? `${r.target.op} ${r.target.value}` : '—',
    r.met === null ? '—' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const render = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  return [render(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...lines.map(render)].join('\n');
}

/** The same table in Markdown, for BENCHMARKS.md. */
export function markdown(rows: Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '| scenario | ours | baseline | ratio | target | met? |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) =>
      `| ${esc(r.scenario)} | ${esc(fmt(r.ours))} | ${esc(`${r.baseline.name}: ${fmt(r.baseline)}`)} | ${round(r.ratio, 3)}${r.ratioLabel ? ` ${esc(r.ratioLabel)}` : ''} | ${r.target ? `${r.target.op} ${r.target.value}` : '—'} | ${r.met === null ? '—' : r.met ? 'yes' : '**no**'} |`,
    ),
  ].join('\n');
}
