/**
 * The billing dashboard's browser script: reads the REST API with the API key or wallet session the
 * visitor gives it (kept sealed for this tab, credential.client.ts). It asks only what the
 * credential may read: an API key reads the billing routes, a wallet session also the keys,
 * top-ups, members and the low-balance alert, and its role decides which controls it is shown
 * (admins manage keys and alerts, owners members and the name), so no request it makes is one the
 * API refuses for its credential. Each section is a module of dashboard/.
 */
import { forgetCredential, keepCredential, keptCredential } from './credential.client.js';
import { api, type Balance, type Session, signedIn } from './dashboard/api.client.js';
import { loadAudit, resetAudit, wireAudit } from './dashboard/audit.client.js';
import { loadAlert, resetAlert, showBalance, wireAlert } from './dashboard/balance.client.js';
import { loadLedger, loadTasks, wireHistory } from './dashboard/history.client.js';
import { loadKeys, resetKeys, wireKeys } from './dashboard/keys.client.js';
import { loadMembers, resetMembers, wireMembers } from './dashboard/members.client.js';
import { resetOrganization, showOrganization, wireOrganization } from './dashboard/organization.client.js';
import { $, table } from './dashboard/page.client.js';
import { loadTopUps, resetTopUps, type TopUpSettings, wireTopUps } from './dashboard/topups.client.js';
import { loadUsage, wireUsage } from './dashboard/usage.client.js';

declare global {
  interface Window {
    /** an injected EIP-1193 wallet (MetaMask and the like) */
    ethereum?: { request(call: { method: string; params?: unknown[] }): Promise<unknown> };
  }
}

interface Indexer {
  chainId: number;
  indexedBlock: string;
  headBlock: string | null;
  lagBlocks: number | null;
  checkedAt: string | null;
}
interface Price {
  name: string;
  tier: number;
  tier_name: string;
  cost_display: string;
  enabled: boolean;
}

function showPrices(prices: Price[], indexer: Indexer | null) {
  $('freshness').textContent = indexer
    ? 'ERC-8004 data from chain ' +
      indexer.chainId +
      ': block ' +
      indexer.indexedBlock +
      (indexer.headBlock === null
        ? ''
        : ' of ' + indexer.headBlock + ' (' + indexer.lagBlocks + ' behind, checked ' + (indexer.checkedAt || '').slice(11, 19) + ' UTC)')
    : 'ERC-8004 data: demo data, or the indexer has not run yet.';
  table(
    'prices',
    [['Tool'], ['Tier'], ['Price', 'num'], ['Status']],
    prices.map((t) => [t.name, t.tier + ' ' + t.tier_name, t.cost_display, t.enabled ? 'enabled' : 'disabled']),
  );
}

async function load() {
  $('signin').hidden = true;
  $('app').hidden = false;
  $('signout').hidden = false;
  const [balance, organization, who] = await Promise.all([
    api<Balance>('/v1/balance'),
    api<{ name: string }>('/v1/organization'),
    // An API key is no session: the session-only routes (keys, top-ups, who am I) are never asked with one.
    signedIn.credential?.startsWith('apg_') ? null : api<Session>('/v1/auth/session'),
  ]);
  const session = who;
  signedIn.session = session;
  showOrganization(organization.name);
  $('who').textContent = session ? session.address + ' (' + session.role + ')' : 'signed in with an API key';
  showBalance(balance);
  const [config, prices, indexed] = await Promise.all([
    fetch('/v1/config').then((r) => r.json() as Promise<{ topUps: TopUpSettings | null }>),
    fetch('/v1/tools').then((r) => r.json() as Promise<{ tools: Price[] }>),
    fetch('/v1/indexer').then((r) => r.json() as Promise<{ indexer: Indexer | null }>),
    loadUsage(),
  ]);
  showPrices(prices.tools, indexed.indexer);
  $('keys-section').hidden = !session;
  $('members-section').hidden = !session;
  $('alert-section').hidden = !session;
  await Promise.all([
    loadLedger(false),
    loadTasks(false),
    loadTopUps(config.topUps),
    session ? loadKeys(prices.tools.filter((t) => t.enabled).map((t) => t.name)) : null,
    session ? loadMembers() : null,
    session ? loadAlert(balance.lowBalance !== null) : null,
    session ? loadAudit() : null,
  ]);
}

async function signInWithWallet(): Promise<string> {
  if (!window.ethereum) throw new Error('no wallet found in this browser');
  const [address] = (await window.ethereum.request({ method: 'eth_requestAccounts' })) as string[];
  const { nonce, domain, chainId } = (await (await fetch('/v1/auth/nonce', { method: 'POST' })).json()) as {
    nonce: string;
    domain: string;
    chainId: number;
  };
  const message =
    domain +
    ' wants you to sign in with your Ethereum account:\n' +
    address +
    '\n\nSign in to the a2a-paygate billing dashboard\n\nURI: ' +
    location.origin +
    '\nVersion: 1\nChain ID: ' +
    chainId +
    '\nNonce: ' +
    nonce +
    '\nIssued At: ' +
    new Date().toISOString();
  const hex = '0x' + Array.from(new TextEncoder().encode(message), (b) => b.toString(16).padStart(2, '0')).join('');
  const signature = await window.ethereum.request({ method: 'personal_sign', params: [hex, address] });
  const response = await fetch('/v1/auth/verify', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message, signature }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error?.message || 'sign-in refused');
  return body.token;
}

/** Signs in with the credential and loads the page; false (the reason shown on the sign-in form) when that failed. */
async function start(credential: string): Promise<boolean> {
  signedIn.credential = credential;
  try {
    // kept before the page shows it is signed in, so a reload right after finds it (a failed load forgets it)
    await keepCredential(credential);
    await load();
    return true;
  } catch (error) {
    signOut();
    $('signin-error').textContent = (error as Error).message;
    return false;
  }
}

/** A sign-in the visitor asked for: the button they pressed is hidden with the form, so the focus goes on to the organization's name at the top of what they signed in to. */
async function signInBy(credential: Promise<string>) {
  try {
    if (await start(await credential)) $('org-name').focus();
  } catch (error) {
    $('signin-error').textContent = (error as Error).message;
  }
}

function signOut() {
  forgetCredential();
  signedIn.credential = null;
  signedIn.session = null;
  resetKeys();
  resetMembers();
  resetAlert();
  resetOrganization();
  resetAudit();
  resetTopUps();
  $('members-section').hidden = true;
  $('alert-section').hidden = true;
  $('app').hidden = true;
  $('signin').hidden = false;
  $('signout').hidden = true;
  $('who').textContent = '';
}

$('use-key').onclick = () => signInBy(Promise.resolve($('apikey').value.trim()));
$('use-wallet').onclick = () => signInBy(signInWithWallet());
$('signout').onclick = () => {
  signOut();
  // The pressed button is hidden with the signed-in page: the focus goes back to the sign-in's field.
  $('apikey').focus();
};
wireHistory();
wireKeys();
wireMembers();
wireAlert();
wireOrganization();
wireAudit();
wireTopUps();
wireUsage();
keptCredential().then((kept) => {
  if (kept) start(kept);
});
