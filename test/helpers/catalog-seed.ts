import { sql } from 'drizzle-orm';
import type { Database } from '../../src/db/client.js';

/** The families the seeded tools come in: a name's end, and what its description says. */
const FAMILIES = [
  ['WeatherForecast', 'the weather forecast for a city, hour by hour, with rain and wind'],
  ['StockQuote', 'delayed stock quotes and daily prices of equities by ticker'],
  ['GeoLookup', 'finds places and addresses on a map, with coordinates'],
  ['TextTranslate', 'translates text between languages, keeping the formatting'],
] as const;

/** The name of the `i`th seeded tool (1-based): `tool00001StockQuote`. */
export const catalogToolName = (i: number) => `tool${String(i).padStart(5, '0')}${FAMILIES[i % FAMILIES.length]?.[0]}`;

/**
 * `count` catalog tools (one active version each) in one INSERT, for the tests and the bench at the
 * issue's scale (10,000): names, descriptions and tags from a few families, tiers 0, 1 and 3, an
 * argument schema each. Nothing is announced: a live catalog opened afterwards reads them whole
 * when its LISTEN is in place. Their signing secrets are not sealed values: they are never called.
 */
export async function seedCatalog(db: Database, count: number): Promise<void> {
  const names = sql.raw(`array[${FAMILIES.map(([name]) => `'${name}'`).join(', ')}]`);
  const descriptions = sql.raw(`array[${FAMILIES.map(([, description]) => `'${description}'`).join(', ')}]`);
  await db.run(sql`
    insert into catalog_tools (name, version, description, tags, tier, settlement, arguments_schema, upstream_url, upstream_timeout_ms, signing_secret_sealed)
    select 'tool' || lpad(i::text, 5, '0') || (${names})[i % 4 + 1],
      '1.0.0',
      'Catalog tool number ' || i || ': ' || (${descriptions})[i % 4 + 1] || repeat(' More words about what it does.', 3),
      array['family-' || (i % 4), 'group-' || (i % 50), 'demo'],
      (array[0, 1, 3])[i % 3 + 1], 'instant',
      '{"type":"object","properties":{"q":{"type":"string","description":"what to look up"}},"required":["q"]}'::json,
      'https://tools.example.com/run', 10000, 'never-opened'
    from generate_series(1, ${count}) as i`);
}
