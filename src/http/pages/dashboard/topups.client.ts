/**
 * The top-up section: where to send USDC and (wallet sessions) the top-ups recorded. Admins and
 * owners send a transfer from the injected wallet, or submit the hash of one made elsewhere, and the
 * page follows it (POST /v1/topups every 2 s) until it is credited; the balance, the ledger and the
 * table then follow without a reload. Viewers read: the watcher credits their wallets' transfers.
 */
import { api, canManage, sendJson, signedIn } from './api.client.js';
import { refreshBalance } from './balance.client.js';
import { loadLedger } from './history.client.js';
import { $, microOf, onSubmit, table, text, usdc, when } from './page.client.js';
import { sendUsdcTransfer, switchWalletChain, walletAccounts, walletChainId, walletPresent, walletRefusal } from './wallet.client.js';

export interface TopUpSettings {
  chainId: number;
  usdc: string;
  treasury: string;
  confirmations: number;
}
interface TopUp {
  createdAt: string;
  txHash: string;
  amountMicroUsdc: string;
  amountDisplay: string;
  status: string;
}
type Submitted =
  | { status: 'credited'; creditedNow: boolean; topups: TopUp[] }
  | { status: 'pending'; confirmations: number; required: number };

/** The most one top-up from the page may send: a guard against a zero too many, not a limit of the gateway. */
const MOST_MICRO_USDC = 1_000_000n * 1_000_000n;
const POLL_MS = 2_000;
/** 90 asks 2 s apart: three minutes, after which the watcher is left to credit it */
const POLLS = 90;

let settings: TopUpSettings | null = null;
/** the running follow's number: a new follow or a sign-out ends the one before */
let following = 0;

const say = (line: string) => {
  // Set only when it changes, so the live region announces news, not every poll.
  if ($('topup-status').textContent !== line) $('topup-status').textContent = line;
};
const warn = (line: string) => {
  $('topup-error').textContent = line;
};
const hashShown = (txHash: string) => txHash.slice(0, 10) + '…' + txHash.slice(-6);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function loadTopUpTable() {
  const topups = await api<{ topups: TopUp[] }>('/v1/topups');
  table(
    'topups',
    [['When', 'when'], ['Tx'], ['Amount', 'num'], ['Status']],
    topups.topups.map((t) => [when(t.createdAt), hashShown(t.txHash), t.amountDisplay, t.status]),
    'No top-ups recorded yet.',
  );
}

export async function loadTopUps(configured: TopUpSettings | null) {
  settings = configured;
  const session = signedIn.session;
  const manage = Boolean(configured && session && canManage());
  $('topup').innerHTML =
    (configured
      ? '<p>Send USDC (<code>' +
        text(configured.usdc) +
        '</code>) on chain ' +
        text(configured.chainId) +
        ' from a member wallet to <code>' +
        text(configured.treasury) +
        '</code>. It is credited after ' +
        text(configured.confirmations) +
        ' confirmations, or at once when you submit the transaction hash.</p>'
      : '<p class="muted">Top-ups are not configured on this gateway.</p>') +
    (!session
      ? '<p class="muted">Sign in with a member wallet to see the top-ups recorded.</p>'
      : configured && !manage
        ? '<p class="muted">Admins and owners send and submit top-ups here; a transfer from your member wallet is credited by the gateway once it has its confirmations.</p>'
        : manage && !walletPresent()
          ? '<p class="muted">No wallet in this browser: send the USDC from your wallet app, then submit its transaction hash below.</p>'
          : '');
  $('topup-send-form').hidden = !manage || !walletPresent();
  $('topup-hash-form').hidden = !manage;
  $('topup-chain').hidden = true;
  $('topups').hidden = !session;
  if (!session) return;
  await loadTopUpTable();
  // The switch offered before the visitor types an amount, when the wallet is on another chain already.
  if (manage && walletPresent() && configured) {
    const onChain = await walletChainId().catch(() => configured.chainId);
    if (onChain !== configured.chainId) offerSwitch(onChain);
  }
}

function offerSwitch(onChain: number) {
  if (!settings) return;
  $('topup-chain-text').textContent =
    'Your wallet is on chain ' + onChain + '; top-ups are taken on chain ' + settings.chainId + '. Switch it before sending.';
  $('topup-switch').textContent = 'Switch wallet to chain ' + settings.chainId;
  $('topup-chain').hidden = false;
}

async function switchChain() {
  if (!settings) return;
  warn('');
  try {
    await switchWalletChain(settings.chainId);
    const onChain = await walletChainId();
    if (onChain !== settings.chainId) {
      offerSwitch(onChain);
      return;
    }
    $('topup-chain').hidden = true;
    say('Your wallet is on chain ' + onChain + ' now: send to top up.');
    $('topup-send').focus();
  } catch (error) {
    warn(walletRefusal(error, settings.chainId));
  }
}

/** The amount typed, in micro-USDC, or a sentence saying what is wrong with it. */
function amountTyped(): bigint | string {
  try {
    const micro = BigInt(microOf($('topup-amount').value, 'amount'));
    if (micro > 0n && micro <= MOST_MICRO_USDC) return micro;
    return 'the amount must be more than 0 and at most ' + usdc(MOST_MICRO_USDC.toString()) + ' a top-up';
  } catch (error) {
    return (error as Error).message;
  }
}

async function sendFromWallet() {
  const session = signedIn.session;
  if (!settings || !session) return;
  warn('');
  const micro = amountTyped();
  if (typeof micro === 'string') {
    warn(micro);
    $('topup-amount').focus();
    return;
  }
  const from = session.address.toLowerCase();
  let txHash: string;
  // Disabled while the wallet is asked, so one press sends one transfer; the follow after it runs on its own.
  $('topup-send').disabled = true;
  try {
    // The transfer must come from the signed-in member's wallet, or the gateway will not credit this organization.
    const accounts = await walletAccounts();
    if (!accounts.includes(from)) {
      warn(
        'Your wallet is using ' + (accounts[0] ?? 'no account') + ', not the signed-in ' + from + ': choose that account in your wallet.',
      );
      return;
    }
    const onChain = await walletChainId();
    if (onChain !== settings.chainId) {
      offerSwitch(onChain);
      $('topup-switch').focus();
      return;
    }
    $('topup-chain').hidden = true;
    say('Confirm the transfer of ' + usdc(micro.toString()) + ' in your wallet…');
    txHash = await sendUsdcTransfer({ from, usdc: settings.usdc, treasury: settings.treasury, microUsdc: micro });
  } catch (error) {
    const refusal = walletRefusal(error, settings.chainId);
    // The visitor saying no is no failure: a plain line in the status, not an alert.
    if ((error as { code?: number }).code === 4001) say(refusal);
    else {
      say('');
      warn(refusal);
    }
    return;
  } finally {
    $('topup-send').disabled = false;
  }
  $('topup-amount').value = '';
  await follow(txHash, true);
}

async function submitHash() {
  warn('');
  const txHash = $('topup-hash').value.trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(txHash)) {
    warn('the transaction hash must be 0x and 64 hex digits');
    $('topup-hash').focus();
    return;
  }
  await follow(txHash, false);
}

/**
 * Asks the gateway to credit `txHash` every 2 s until it is credited or refused, saying how many
 * confirmations it has. `justSent`: the page sent it, so the gateway's chain node may not know it
 * yet (404), and is asked again; a hash typed by hand that it does not know is said at once.
 */
async function follow(txHash: string, justSent: boolean) {
  const run = ++following;
  const shown = hashShown(txHash);
  say((justSent ? 'Sent in ' : 'Checking ') + shown + '…');
  for (let poll = 0; poll < POLLS; poll++) {
    if (poll > 0) await pause(POLL_MS);
    if (run !== following) return;
    let answer: Submitted;
    try {
      answer = await api<Submitted>('/v1/topups', sendJson('POST', { txHash }));
    } catch (error) {
      if (run !== following) return;
      const reason = (error as { reason?: string }).reason;
      if ((justSent && reason === 'unknown_transaction') || reason === 'chain_unavailable') {
        say(shown + ': waiting for the chain to see it…');
        continue;
      }
      say('');
      warn((error as Error).message);
      return;
    }
    if (run !== following) return;
    if (answer.status === 'pending') {
      say(shown + ': pending, ' + answer.confirmations + ' of ' + answer.required + ' confirmations.');
      continue;
    }
    const total = answer.topups.reduce((sum, t) => sum + BigInt(t.amountMicroUsdc), 0n);
    ($('topup-hash-form') as unknown as HTMLFormElement).reset();
    say(shown + ': ' + (answer.creditedNow ? 'credited, ' : 'already credited, ') + usdc(total.toString()) + '.');
    await Promise.all([refreshBalance(), loadLedger(false), loadTopUpTable()]).catch((error: Error) => warn(error.message));
    return;
  }
  say(
    shown +
      " is not confirmed yet after 3 minutes, so the page stopped asking. The gateway's watcher still credits it once it has its confirmations; submit the hash again to check.",
  );
}

/** Signed out: the follow ends and what the section said goes. */
export function resetTopUps() {
  following++;
  say('');
  warn('');
  $('topup-chain').hidden = true;
}

export function wireTopUps() {
  onSubmit('topup-send-form', sendFromWallet);
  onSubmit('topup-hash-form', submitHash);
  $('topup-switch').onclick = switchChain;
}
