/**
 * The audit trail section (admins and owners: the API refuses viewers, so their page never asks):
 * who changed what, newest first, each change written as a sentence from its before and after;
 * filtered by action and UTC days, "Older" reading the next page by cursor, and the filtered range
 * downloaded as CSV (fetched with the credential, then saved from a Blob).
 */
import { api, canManage, mine } from './api.client.js';
import { saveDownload } from './download.client.js';
import { $, onSubmit, short, table, usdc, when } from './page.client.js';

type View = Record<string, unknown> | null;
interface AuditEvent {
  id: string;
  actor: { kind: 'wallet' | 'key' | 'operator'; id: string };
  action: string;
  target: { kind: string; id: string };
  before: View;
  after: View;
  createdAt: string;
}
interface Policy {
  tools?: string[] | null;
  maxTier?: number | null;
  spendCap?: { amountMicroUsdc: string; period: string } | null;
  rateLimit?: { requests: number; windowSeconds: number } | null;
}

/** Rows per page: as the ledger's. */
const PAGE = 20;

let events: AuditEvent[] = [];
let cursor: string | null = null;
/** the filters of the list shown, as the API's query: "Older" and the CSV keep to them, whatever the form says since */
let applied = new URLSearchParams();
/** key id → "name (apg_1234…)": the actor or target of a key's event, by the name its members know it by */
let keyNames = new Map<string, string>();

/** The form's filters as a query; throws a sentence when the days are out of order. */
function filtersOfForm(): URLSearchParams {
  const query = new URLSearchParams();
  const actions = Array.from($('audit-actions').querySelectorAll<HTMLInputElement>('input:checked'), (box) => box.value);
  if (actions.length) query.set('action', actions.join(','));
  const from = $('audit-from').value;
  const to = $('audit-to').value;
  if (from && to && from > to) throw new Error('the From day must not be after the To day');
  if (from) query.set('from', from + 'T00:00:00Z');
  // The To day is included: the API's `to` is exclusive, so the range ends at the next day's start.
  if (to) query.set('to', new Date(Date.parse(to + 'T00:00:00Z') + 86_400_000).toISOString());
  return query;
}

const str = (value: unknown) => (typeof value === 'string' ? value : '');
const keyName = (id: string, view?: View) =>
  keyNames.get(id) ?? (view && typeof view.name === 'string' ? view.name + ' (' + str(view.prefix) + '…)' : id.slice(0, 8) + '…');
const wallet = (address: string) => short(address) + (mine(address) ? ' (you)' : '');

function who(event: AuditEvent): string {
  if (event.actor.kind === 'wallet') return wallet(event.actor.id);
  if (event.actor.kind === 'key') return 'key ' + keyName(event.actor.id);
  return 'operator';
}

function target(event: AuditEvent): string {
  const { kind, id } = event.target;
  if (kind === 'api_key') return 'key ' + keyName(id, event.after ?? event.before);
  if (kind === 'member') return wallet(id);
  if (kind === 'low_balance_alert') return 'low-balance alert';
  if (kind === 'credit_account') return 'credit account';
  if (kind === 'organization') return 'organization';
  return kind + ' ' + id;
}

/** One part of a policy as the keys list writes it; "none" where it sets no bound. */
const POLICY_PARTS: [name: string, show: (policy: Policy) => string][] = [
  ['tools', (p) => (p.tools ? p.tools.join(', ') : 'every tool')],
  ['highest tier', (p) => (p.maxTier === null || p.maxTier === undefined ? 'any' : String(p.maxTier))],
  ['cap', (p) => (p.spendCap ? usdc(p.spendCap.amountMicroUsdc) + ' per ' + p.spendCap.period : 'none')],
  ['rate limit', (p) => (p.rateLimit ? p.rateLimit.requests + ' calls per ' + p.rateLimit.windowSeconds + ' s' : 'none')],
];

/** "policy: cap 5.00 USDC per day → none; highest tier any → 2": the parts that changed. */
function policyChange(before: Policy, after: Policy): string {
  const changed = POLICY_PARTS.filter(([, show]) => show(before) !== show(after)).map(
    ([name, show]) => name + ' ' + show(before) + ' → ' + show(after),
  );
  return 'policy: ' + (changed.join('; ') || 'unchanged');
}

const alertText = (view: View) =>
  view ? usdc(str(view.thresholdMicroUsdc) || '0') + (view.webhookUrl ? ', webhook ' + str(view.webhookUrl) : ', no webhook') : 'none';

/** The change as a sentence; an action this page does not know yet lists the fields that changed. */
function summary(event: AuditEvent): string {
  const { before, after } = event;
  switch (event.action) {
    case 'org.create':
      return 'created "' + str(after?.name) + '"';
    case 'org.rename':
      return 'renamed "' + str(before?.name) + '" → "' + str(after?.name) + '"';
    case 'key.create':
      return 'created' + (after?.expiresAt ? ', expires ' + when(str(after.expiresAt)) : ', never expires');
    case 'key.revoke':
      return 'revoked';
    case 'key.policy.set':
    case 'org.policy.set':
      return policyChange((before ?? {}) as Policy, (after ?? {}) as Policy);
    case 'member.add':
      return 'added as ' + str(after?.role);
    case 'member.remove':
      return 'removed (was ' + str(before?.role) + ')';
    case 'alert.set':
    case 'alert.delete':
      return 'alert: ' + alertText(before) + ' → ' + alertText(after);
    case 'credits.grant':
      return (
        'granted ' +
        usdc(str(after?.grantedMicroUsdc) || '0') +
        (after?.reason ? ' (' + str(after.reason) + ')' : '') +
        ': balance ' +
        usdc(str(before?.balanceMicroUsdc) || '0') +
        ' → ' +
        usdc(str(after?.balanceMicroUsdc) || '0')
      );
  }
  const fields = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  return Array.from(fields)
    .filter((field) => JSON.stringify(before?.[field]) !== JSON.stringify(after?.[field]))
    .map((field) => field + ': ' + JSON.stringify(before?.[field] ?? null) + ' → ' + JSON.stringify(after?.[field] ?? null))
    .join('; ');
}

function show() {
  table(
    'audit',
    [['When', 'when'], ['Who'], ['Action'], ['Target'], ['Change']],
    events.map((event) => [when(event.createdAt), who(event), event.action, target(event), summary(event)]),
    applied.toString() ? 'No events match these filters.' : 'No changes recorded yet.',
  );
  $('audit-more').hidden = !cursor;
}

async function readPage(more: boolean) {
  const query = new URLSearchParams(applied);
  query.set('limit', String(PAGE));
  if (more && cursor) query.set('cursor', cursor);
  const page = await api<{ events: AuditEvent[]; nextCursor: string | null }>('/v1/audit?' + query);
  events = more ? events.concat(page.events) : page.events;
  cursor = page.nextCursor;
  show();
}

/** The newest page under the form's filters, with the keys' names read again (a key made since has one). */
async function apply() {
  $('audit-error').textContent = '';
  try {
    applied = filtersOfForm();
    const [keys] = await Promise.all([api<{ keys: { id: string; name: string; prefix: string }[] }>('/v1/keys'), readPage(false)]);
    keyNames = new Map(keys.keys.map((key) => [key.id, key.name + ' (' + key.prefix + '…)']));
    show();
  } catch (error) {
    $('audit-error').textContent = (error as Error).message;
  }
}

/** Shown to admins and owners only, and read only for them: a viewer's page never asks for the trail. */
export async function loadAudit() {
  $('audit-section').hidden = !canManage();
  if (canManage()) await apply();
}

/** Every event of the applied filters as CSV, saved as a file (download.client.ts: a plain link would not send the credential). */
async function downloadCsv() {
  $('audit-error').textContent = '';
  try {
    await saveDownload('/v1/audit.csv?' + applied, 'audit.csv');
  } catch (error) {
    $('audit-error').textContent = (error as Error).message;
  }
}

/** Signed out: the section hidden, its rows and filters gone. */
export function resetAudit() {
  $('audit-section').hidden = true;
  ($('audit-form') as unknown as HTMLFormElement).reset();
  events = [];
  cursor = null;
  applied = new URLSearchParams();
  keyNames = new Map();
  $('audit').innerHTML = '';
  $('audit-error').textContent = '';
  $('audit-more').hidden = true;
}

export function wireAudit() {
  onSubmit('audit-form', apply);
  $('audit-more').onclick = () =>
    readPage(true).catch((error: Error) => {
      $('audit-error').textContent = error.message;
    });
  $('audit-csv').onclick = downloadCsv;
}
