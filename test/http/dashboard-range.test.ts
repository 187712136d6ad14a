import { describe, expect, it } from 'vitest';
import { customRange, daysOf, presetRange, rangeLabel, rangeQuery } from '../../src/http/pages/dashboard/range.client.js';

/** The dashboard's range of UTC days: what it reads, how it is written, which custom days it refuses before asking. */
describe('the dashboard range of UTC days', () => {
  const now = Date.parse('2026-11-30T23:59:59Z');

  it('presets end today (UTC), today included', () => {
    expect(presetRange('today', now)).toEqual({ from: '2026-11-30', to: '2026-11-30' });
    expect(presetRange('7', now)).toEqual({ from: '2026-11-24', to: '2026-11-30' });
    expect(presetRange('30', now)).toEqual({ from: '2026-11-01', to: '2026-11-30' });
    expect(presetRange('30', Date.parse('2026-03-01T00:00:00Z'))).toEqual({ from: '2026-01-31', to: '2026-03-01' });
  });

  it('is asked as [first midnight, the midnight after the last day)', () => {
    expect(rangeQuery({ from: '2026-11-01', to: '2026-11-30' })).toBe('from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z');
    expect(rangeQuery({ from: '2026-12-31', to: '2026-12-31' })).toBe('from=2026-12-31T00:00:00Z&to=2027-01-01T00:00:00Z');
    expect(daysOf({ from: '2028-02-27', to: '2028-03-01' })).toEqual(['2028-02-27', '2028-02-28', '2028-02-29', '2028-03-01']);
  });

  it('is written with its shared month and year once', () => {
    expect(rangeLabel({ from: '2026-11-01', to: '2026-11-30' })).toBe('1–30 Nov 2026, UTC');
    expect(rangeLabel({ from: '2026-11-30', to: '2026-11-30' })).toBe('30 Nov 2026, UTC');
    expect(rangeLabel({ from: '2026-10-28', to: '2026-11-03' })).toBe('28 Oct – 3 Nov 2026, UTC');
    expect(rangeLabel({ from: '2025-12-20', to: '2026-01-18' })).toBe('20 Dec 2025 – 18 Jan 2026, UTC');
  });

  it('custom days are a range, or the reason they are not', () => {
    expect(customRange('2026-11-01', '2026-11-30')).toEqual({ from: '2026-11-01', to: '2026-11-30' });
    expect(customRange('', '2026-11-30')).toBe('Choose a first and a last day.');
    expect(customRange('2026-02-30', '2026-03-01')).toBe('Choose a first and a last day.');
    expect(customRange('2026-12-01', '2026-11-30')).toBe('The first day (2026-12-01) is after the last day (2026-11-30).');
    // 366 days is the most (a leap year's), 367 too many
    expect(customRange('2028-01-01', '2028-12-31')).toEqual({ from: '2028-01-01', to: '2028-12-31' });
    expect(customRange('2027-12-31', '2028-12-31')).toBe('A range is at most 366 days; 2027-12-31 to 2028-12-31 is 367 days.');
    expect(customRange('9998-12-01', '9998-12-31')).toBe('Choose days between 0001-01-01 and 9998-12-30.');
  });
});
