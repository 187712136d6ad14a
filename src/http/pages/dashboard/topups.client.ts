/** The top-up section: where to send USDC, and (wallet sessions) the top-ups recorded. */
import { api, signedIn } from './api.client.js';
import { $, table, text, when } from './page.client.js';

export interface TopUpSettings {
  chainId: number;
  usdc: string;
  treasury: string;
  confirmations: number;
}

export async function loadTopUps(settings: TopUpSettings | null) {
  $('topup').innerHTML =
    (settings
      ? '<p>Send USDC (<code>' +
        text(settings.usdc) +
        '</code>) on chain ' +
        text(settings.chainId) +
        ' from a member wallet to <code>' +
        text(settings.treasury) +
        '</code>. It is credited after ' +
        text(settings.confirmations) +
        ' confirmations, or at once when you submit the transaction hash.</p>'
      : '<p class="muted">Top-ups are not configured on this gateway.</p>') +
    (signedIn.session ? '' : '<p class="muted">Sign in with a member wallet to see the top-ups recorded.</p>');
  $('topups').hidden = !signedIn.session;
  if (!signedIn.session) return;
  const topups = await api<{ topups: { createdAt: string; txHash: string; amountDisplay: string; status: string }[] }>('/v1/topups');
  table(
    'topups',
    [['When', 'when'], ['Tx'], ['Amount', 'num'], ['Status']],
    topups.topups.map((t) => [when(t.createdAt), t.txHash.slice(0, 12) + '…', t.amountDisplay, t.status]),
    'No top-ups recorded yet.',
  );
}
