/**
 * The balance and the low-balance alert: the available credit with its warning, and (wallet
 * sessions) the alert's state; admins and owners set the threshold and webhook (the signing secret
 * shown once) or remove it, and the balance's warning follows without a reload.
 */
import { api, type Balance, canManage, sendJson } from './api.client.js';
import { $, copyShown, microOf, onSubmit, usdc, when } from './page.client.js';

interface LowBalanceAlert {
  thresholdMicroUsdc: string;
  webhookUrl: string | null;
  below: boolean;
  crossedAt: string | null;
  lastError: string | null;
  webhookSecret?: string;
}

export function showBalance(balance: Balance) {
  $('balance').textContent = balance.availableDisplay + ' available';
  $('balance-detail').textContent = 'balance ' + balance.balanceDisplay + ' · reserved ' + balance.reservedDisplay;
  $('low-balance').textContent = balance.lowBalance?.below
    ? 'Below your low-balance threshold of ' + usdc(balance.lowBalance.thresholdMicroUsdc)
    : '';
}

/** The balance read again, after anything that may have moved it or its warning. */
export async function refreshBalance() {
  showBalance(await api<Balance>('/v1/balance'));
}

function showAlert(alert: LowBalanceAlert | null) {
  const manage = canManage();
  $('alert-state').textContent = alert
    ? 'Alert when the available credit falls under ' +
      usdc(alert.thresholdMicroUsdc) +
      (alert.webhookUrl ? ', posted to ' + alert.webhookUrl : ', shown on this page (no webhook)') +
      '.' +
      // The signal's own state (set when a sweep sees the crossing); the balance above says the live one.
      (alert.below && alert.crossedAt ? ' Signalled below it since ' + when(alert.crossedAt) + '.' : '') +
      (alert.lastError ? ' Last webhook delivery failed: ' + alert.lastError : '')
    : 'No low-balance alert is set.';
  $('alert-form').hidden = !manage;
  $('alert-remove').hidden = !manage || !alert;
  if (manage && alert) {
    $('alert-threshold').value = usdc(alert.thresholdMicroUsdc).replace(' USDC', '');
    $('alert-webhook').value = alert.webhookUrl ?? '';
  }
}

function forgetShownSecret() {
  $('alert-secret').hidden = true;
  $('alert-secret-value').textContent = '';
  $('copy-secret-done').textContent = '';
}

async function saveAlert() {
  $('alert-error').textContent = '';
  forgetShownSecret();
  try {
    const webhook = $('alert-webhook').value.trim();
    const saved = await api<LowBalanceAlert>(
      '/v1/alerts/low-balance',
      sendJson('PUT', { thresholdMicroUsdc: microOf($('alert-threshold').value, 'threshold'), webhookUrl: webhook || null }),
    );
    showAlert(saved);
    await refreshBalance();
    if (saved.webhookSecret) {
      $('alert-secret-value').textContent = saved.webhookSecret;
      $('alert-secret').hidden = false;
      $('copy-secret').focus();
    } else {
      $('alert-submit').focus();
    }
  } catch (error) {
    $('alert-error').textContent = (error as Error).message;
  }
}

async function removeAlert() {
  $('alert-error').textContent = '';
  forgetShownSecret();
  if (!confirm('Remove the low-balance alert? No webhook is posted and no warning shown from now on.')) return;
  try {
    await api('/v1/alerts/low-balance', { method: 'DELETE' });
    ($('alert-form') as unknown as HTMLFormElement).reset();
    showAlert(null);
    await refreshBalance();
  } catch (error) {
    $('alert-error').textContent = (error as Error).message;
  }
  $('alert-threshold').focus();
}

export async function loadAlert(set: boolean) {
  // Only asked when the balance says one is set: without one the route answers 404.
  showAlert(set ? await api<LowBalanceAlert>('/v1/alerts/low-balance') : null);
}

export function resetAlert() {
  forgetShownSecret();
  $('alert-error').textContent = '';
}

export function wireAlert() {
  onSubmit('alert-form', saveAlert);
  $('alert-remove').onclick = removeAlert;
  $('copy-secret').onclick = () => copyShown('alert-secret-value', 'copy-secret-done', 'secret');
}
