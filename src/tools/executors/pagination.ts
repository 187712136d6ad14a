export interface PageArgs {
  readonly limit: number;
  readonly offset: number;
}

/** Where the next page starts, or null when this page reaches the end. */
export function nextOffset(page: PageArgs, rowsOnPage: number, total: number): number | null {
  const end = page.offset + rowsOnPage;
  return rowsOnPage > 0 && end < total ? end : null;
}
