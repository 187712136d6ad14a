/**
 * The range of UTC days the spend and usage sections read: a preset (today, the last 7 or 30 days,
 * today included) or two chosen days, both included. The API reads [from, to) between instants, so
 * a range is sent as from the first day's midnight to the midnight after the last day.
 */
import { SPLIT_MAX_DAYS } from '../../../billing/usage-split.js';

const DAY_MS = 86_400_000;
/** the days the API can take: its instants lie in [0001-01-01, 9999-01-01), and `to` is the midnight after the last day */
const FIRST_DAY = '0001-01-01';
const LAST_DAY = '9998-12-30';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** UTC days written YYYY-MM-DD, `to` included */
export interface DayRange {
  from: string;
  to: string;
}
export type Preset = 'today' | '7' | '30';

const msOf = (day: string) => Date.parse(day + 'T00:00:00Z');
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** A preset's days, ending today (UTC) as `now` sees it. */
export function presetRange(preset: Preset, now = Date.now()): DayRange {
  const today = dayOf(now);
  const days = preset === 'today' ? 1 : Number(preset);
  return { from: dayOf(msOf(today) - (days - 1) * DAY_MS), to: today };
}

/** The chosen days as a range, or why they are not one (said as the page says it). */
export function customRange(from: string, to: string): DayRange | string {
  // a real day written YYYY-MM-DD: Date.parse takes 2026-02-30 as 2 March
  const real = (day: string) => /^\d{4}-\d{2}-\d{2}$/.test(day) && !Number.isNaN(msOf(day)) && dayOf(msOf(day)) === day;
  if (!real(from) || !real(to)) return 'Choose a first and a last day.';
  if (from < FIRST_DAY || to > LAST_DAY) return `Choose days between ${FIRST_DAY} and ${LAST_DAY}.`;
  if (from > to) return `The first day (${from}) is after the last day (${to}).`;
  const days = daysIn({ from, to });
  if (days > SPLIT_MAX_DAYS) return `A range is at most ${SPLIT_MAX_DAYS} days; ${from} to ${to} is ${days} days.`;
  return { from, to };
}

/** how many days the range holds, both ends included */
export const daysIn = (range: DayRange) => (msOf(range.to) - msOf(range.from)) / DAY_MS + 1;

/** every day of the range, in order */
export function daysOf(range: DayRange): string[] {
  return Array.from({ length: daysIn(range) }, (_, i) => dayOf(msOf(range.from) + i * DAY_MS));
}

/** the query parameters of the range: from its first midnight to the midnight after its last day */
export const rangeQuery = (range: DayRange) => 'from=' + range.from + 'T00:00:00Z&to=' + dayOf(msOf(range.to) + DAY_MS) + 'T00:00:00Z';

/** A day as the axis writes it: "3 Nov". */
export const shortDay = (day: string) => Number(day.slice(8)) + ' ' + MONTHS[Number(day.slice(5, 7)) - 1];

/** The range in words, its shared month and year written once: "1–30 Nov 2026, UTC", "28 Oct – 3 Nov 2026, UTC". */
export function rangeLabel({ from, to }: DayRange): string {
  const year = (day: string) => String(Number(day.slice(0, 4)));
  let label: string;
  if (from === to) label = shortDay(from) + ' ' + year(from);
  else if (from.slice(0, 7) === to.slice(0, 7)) label = Number(from.slice(8)) + '–' + shortDay(to) + ' ' + year(to);
  else if (from.slice(0, 4) === to.slice(0, 4)) label = shortDay(from) + ' – ' + shortDay(to) + ' ' + year(to);
  else label = shortDay(from) + ' ' + year(from) + ' – ' + shortDay(to) + ' ' + year(to);
  return label + ', UTC';
}
