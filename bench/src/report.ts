/** Formatting of the benchmark's figures: a compact table for people, one JSON line for tools. */

/** One row of the table. */
export interface Row {
  readonly metric: string;
  readonly value: string;
  /** What a correct implementation gives, if there is a fixed answer. */
  readonly expected?: string;
}

/**
 * Renders rows as an aligned table.
 * @example `console.log(table([{ metric: 'cycles/s', value: '280,000' }]));`
 */
export function table(rows: readonly Row[]): string {
  const width = Math.max(...rows.map((row) => row.metric.length));
  const valueWidth = Math.max(...rows.map((row) => row.value.length));
  return rows
    .map((row) => {
      const expected = row.expected === undefined ? '' : `  (expected ${row.expected})`;
      return `${row.metric.padEnd(width)}  ${row.value.padStart(valueWidth)}${expected}`.trimEnd();
    })
    .join('\n');
}

/** A number with thousands separators and `digits` decimals; `n/a` for undefined. */
export function fmt(value: number | undefined, digits = 0): string {
  if (value === undefined) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Rounds for the JSON line, keeping it short and stable. */
export function round(value: number | undefined, digits = 2): number | null {
  if (value === undefined) return null;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
