// One line of the benchmark table: a figure of this host as a ratio against its baseline from the same run.

/** A result row. `ratio` is subject / baseline (median of per-round ratios where rounds were paired). */
export interface Row {
  readonly scenario: string;
  readonly unit: string;
  readonly baseline: string;
  readonly baselineValue: number;
  readonly subject: string;
  readonly subjectValue: number;
  readonly ratio: number;
  /** The target on the ratio, e.g. `<= 1.10`; none for a figure only reported. */
  readonly target?: { readonly op: "<=" | ">="; readonly value: number };
  /** Extra facts (detached buffers, counts). */
  readonly note?: string;
  /** False when a check besides the ratio failed (a buffer was copied, a call answered wrong). */
  readonly ok?: boolean;
}

/** Whether the row meets its target (undefined when it has none). */
export function passes(row: Row): boolean | undefined {
  if (row.ok === false) return false;
  if (!row.target) return row.ok;
  return row.target.op === "<=" ? row.ratio <= row.target.value : row.ratio >= row.target.value;
}

const num = (n: number): string =>
  !Number.isFinite(n)
    ? String(n)
    : n >= 100
    ? Math.round(n).toLocaleString("en-US")
    : n >= 10
    ? n.toFixed(1)
    : n.toFixed(2);

/** The rows as a markdown table. */
export function table(rows: readonly Row[]): string {
  const lines = [
    "| scenario | baseline | baseline value | subject | subject value | ratio | target | result |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const pass = passes(r);
    const target = r.target ? `${r.target.op} ${r.target.value}×` : "—";
    const result = pass === undefined ? "info" : pass ? "pass" : "**miss**";
    lines.push(
      `| ${r.scenario} | ${r.baseline} | ${num(r.baselineValue)} ${r.unit} | ${r.subject} | ` +
        `${num(r.subjectValue)} ${r.unit} | ` +
        `${r.ratio.toFixed(2)}× | ${target} | ${result}${r.note ? ` (${r.note})` : ""} |`,
    );
  }
  return lines.join("\n");
}
