/**
 * The API keys section (wallet sessions): the list with each key's policy and period spend for
 * everyone; for admins and owners the form that creates a key (shown once, with a copy button) or
 * edits a key's policy, and revoking after a confirmation.
 */
import { api, canManage, sendJson } from './api.client.js';
import { $, type Column, copyShown, microOf, onSubmit, table, text, usdc, when } from './page.client.js';

interface SpendCap {
  amountMicroUsdc: string;
  period: 'day' | 'month';
}
interface RateLimit {
  requests: number;
  windowSeconds: number;
}
interface KeyPolicy {
  tools: string[] | null;
  maxTier: number | null;
  spendCap: SpendCap | null;
  rateLimit: RateLimit | null;
}
interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  /** the key's newest call the gateway took; null: never used */
  lastUsedAt: string | null;
  policy: KeyPolicy;
  spend: { dayMicroUsdc: string; monthMicroUsdc: string; reservedMicroUsdc: string };
}

/** the enabled tools, which the form offers as scopes */
let toolNames: string[] = [];
let keyRows: ApiKey[] = [];
/** The key whose policy the form edits; null: the form creates a key. */
let editing: ApiKey | null = null;

function policyText(policy: KeyPolicy): string {
  return [
    policy.tools ? 'tools: ' + policy.tools.join(', ') : 'every tool',
    policy.maxTier === null ? '' : 'tier ≤ ' + policy.maxTier,
    policy.spendCap ? 'cap ' + usdc(policy.spendCap.amountMicroUsdc) + ' per ' + policy.spendCap.period : '',
    policy.rateLimit ? policy.rateLimit.requests + ' calls per ' + policy.rateLimit.windowSeconds + ' s' : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

function keyStatus(key: ApiKey): string {
  if (key.revokedAt) return 'revoked ' + when(key.revokedAt);
  if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now()) return 'expired';
  return 'active';
}

export async function loadKeys(tools: string[]) {
  toolNames = tools;
  $('key-new').hidden = !canManage();
  keyRows = (await api<{ keys: ApiKey[] }>('/v1/keys')).keys;
  const manage = canManage();
  const headers: Column[] = [
    ['Name'],
    ['Prefix'],
    ['Policy'],
    ['Spent today', 'num'],
    ['Spent this month', 'num'],
    ['Last used', 'when'],
    ['Expires', 'when'],
    ['Status'],
  ];
  if (manage) headers.push(['Actions', 'actions']);
  table(
    'keys',
    headers,
    keyRows.map((key) => [
      key.name,
      key.prefix + '…',
      policyText(key.policy),
      usdc(key.spend.dayMicroUsdc),
      usdc(key.spend.monthMicroUsdc),
      key.lastUsedAt ? when(key.lastUsedAt) : 'never',
      key.expiresAt ? when(key.expiresAt) : 'never',
      keyStatus(key),
    ]),
    'No API keys yet.',
  );
  if (!manage || !keyRows.length) return;
  // The controls are buttons in the last cell of each live key's row, named for screen readers by the key.
  const rows = $('keys').querySelectorAll('tr');
  keyRows.forEach((key, i) => {
    const cell = (rows[i + 1] as HTMLTableRowElement).insertCell();
    cell.className = 'actions';
    cell.dataset.label = 'Actions';
    if (key.revokedAt) return;
    for (const [action, label] of [
      ['edit', 'Edit policy'],
      ['revoke', 'Revoke'],
    ] as const) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = label;
      button.dataset[action] = key.id;
      button.setAttribute('aria-label', label + ' of key ' + key.name);
      button.onclick = () => (action === 'edit' ? openKeyForm(key) : revokeKey(key));
      cell.append(button, ' ');
    }
  });
}

/** The key shown once leaves the page at the next key action: it is not kept in view (or in memory) longer than needed. */
function forgetShownKey() {
  $('new-key').hidden = true;
  $('new-key-value').textContent = '';
  $('copy-done').textContent = '';
}

function openKeyForm(key: ApiKey | null) {
  forgetShownKey();
  editing = key;
  const form = $('key-form') as unknown as HTMLFormElement;
  form.reset();
  $('key-error').textContent = '';
  $('key-form-title').textContent = key ? 'Policy of key ' + key.name + ' (' + key.prefix + '…)' : 'New key';
  $('key-submit').textContent = key ? 'Save policy' : 'Create key';
  $('key-name').disabled = Boolean(key);
  $('key-expires-field').hidden = Boolean(key);
  $('key-tools').innerHTML = toolNames
    .map(
      (name) =>
        '<label><input type="checkbox" name="tool" value="' +
        text(name) +
        '"' +
        (key?.policy.tools?.includes(name) ? ' checked' : '') +
        '> ' +
        text(name) +
        '</label>',
    )
    .join('');
  if (key) {
    $('key-name').value = key.name;
    $('key-tier').value = key.policy.maxTier === null ? '' : String(key.policy.maxTier);
    $('key-cap').value = key.policy.spendCap ? usdc(key.policy.spendCap.amountMicroUsdc).replace(' USDC', '') : '';
    $('key-cap-period').value = key.policy.spendCap?.period ?? 'day';
    $('key-rate').value = key.policy.rateLimit ? String(key.policy.rateLimit.requests) : '';
    $('key-rate-window').value = String(key.policy.rateLimit?.windowSeconds ?? 60);
  }
  form.hidden = false;
  $('key-new').hidden = true;
  (key ? $('key-tier') : $('key-name')).focus();
}

function closeKeyForm() {
  ($('key-form') as unknown as HTMLFormElement).hidden = true;
  $('key-new').hidden = !canManage();
  editing = null;
}

/** The form's policy: every field, null where it sets no bound (so an edit can remove one). */
function formPolicy(): KeyPolicy {
  const tools = Array.from($('key-tools').querySelectorAll<HTMLInputElement>('input:checked'), (box) => box.value);
  const tier = $('key-tier').value;
  const cap = $('key-cap').value.trim();
  const rate = $('key-rate').value.trim();
  return {
    tools: tools.length ? tools : null,
    maxTier: tier === '' ? null : Number(tier),
    spendCap: cap === '' ? null : { amountMicroUsdc: microOf(cap, 'spend cap'), period: $('key-cap-period').value as 'day' | 'month' },
    rateLimit: rate === '' ? null : { requests: Number(rate), windowSeconds: Number($('key-rate-window').value || 60) },
  };
}

async function submitKeyForm() {
  $('key-error').textContent = '';
  try {
    const policy = formPolicy();
    if (editing) {
      await api('/v1/keys/' + editing.id, sendJson('PATCH', policy));
    } else {
      const expires = $('key-expires').value;
      const created = await api<{ key: string }>(
        '/v1/keys',
        sendJson('POST', {
          name: $('key-name').value,
          ...(expires ? { expiresAt: new Date(expires + 'T23:59:59Z').toISOString() } : {}),
          ...policy,
        }),
      );
      $('new-key-value').textContent = created.key;
      $('copy-done').textContent = '';
      $('new-key').hidden = false;
    }
    closeKeyForm();
    await loadKeys(toolNames);
    ($('new-key').hidden ? $('key-new') : $('copy-key')).focus();
  } catch (error) {
    $('key-error').textContent = (error as Error).message;
  }
}

async function revokeKey(key: ApiKey) {
  forgetShownKey();
  if (!confirm('Revoke the key ' + key.name + ' (' + key.prefix + '…)? Calls with it are refused from now on; this cannot be undone.'))
    return;
  try {
    await api('/v1/keys/' + key.id, { method: 'DELETE' });
  } catch (error) {
    $('key-error').textContent = (error as Error).message;
  }
  await loadKeys(toolNames);
  // The pressed button is gone with the row it was in: the focus goes on to the section's own button.
  $('key-new').focus();
}

/** Signed out: the form closed and the key shown once gone. */
export function resetKeys() {
  closeKeyForm();
  forgetShownKey();
}

export function wireKeys() {
  $('key-new').onclick = () => openKeyForm(null);
  $('key-cancel').onclick = closeKeyForm;
  onSubmit('key-form', submitKeyForm);
  $('copy-key').onclick = () => copyShown('new-key-value', 'copy-done', 'key');
}
