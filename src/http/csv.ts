/** One CSV field: quoted when it holds a comma, a quote or a line break; a leading =, +, - or @ is neutralised so a spreadsheet never runs it. */
function field(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'string' ? value : String(value);
  if (/^[=+\-@\t\r]/.test(text) && typeof value === 'string') text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** RFC 4180 text: a header row, then one row per record, CRLF line ends. */
export function toCsv<Row>(columns: readonly { header: string; value: (row: Row) => unknown }[], rows: readonly Row[]): string {
  const lines = [columns.map((column) => field(column.header)).join(',')];
  for (const row of rows) lines.push(columns.map((column) => field(column.value(row))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
