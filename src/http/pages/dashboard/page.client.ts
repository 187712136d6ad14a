/**
 * What every part of the dashboard's script shares: the element lookup, the one way amounts, dates
 * and wallets are written, the tables, and the copy button of a value shown once.
 */
import { displayUsdc } from '../../../tools/money.js';

export const $ = (id: string) => document.getElementById(id) as HTMLInputElement;
export const text = (value: unknown) =>
  String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
/** Every amount on the page, as the API's *Display fields write it: "0.001 USDC", "2.00 USDC". */
export const usdc = (micro: string) => displayUsdc(BigInt(micro));
/** An instant on one line, to the minute, in UTC: "2026-12-04 16:55 UTC". */
export const when = (iso: string) => new Date(iso).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
/** A wallet address cut to its ends, "0x1234…abcd" (whole in its cell's title). */
export const short = (address: string) => address.slice(0, 6) + '…' + address.slice(-4);

/** "1.5" USDC as micro-USDC, exactly (no float): at most 6 decimals. */
export function microOf(amount: string, what: string): string {
  const match = /^(\d{1,13})(?:\.(\d{1,6}))?$/.exec(amount.trim());
  if (!match) throw new Error('the ' + what + ' must be an amount of USDC with at most 6 decimals, e.g. 5 or 0.25');
  return (BigInt(match[1] as string) * 1_000_000n + BigInt((match[2] ?? '').padEnd(6, '0'))).toString();
}

export type Column = [label: string, cls?: string];

/** A table of `rows` under `headers`; without rows, the one line `empty` instead of a table of headers alone. */
export function table(id: string, headers: Column[], rows: unknown[][], empty = 'Nothing yet.') {
  if (!rows.length) {
    $(id).innerHTML = '<tr><td class="muted">' + text(empty) + '</td></tr>';
    return;
  }
  $(id).innerHTML =
    '<tr>' +
    headers.map(([label, cls]) => '<th scope="col" class="' + (cls || '') + '">' + label + '</th>').join('') +
    '</tr>' +
    rows
      .map(
        (row) =>
          '<tr>' +
          row
            .map(
              (cell, i) =>
                '<td class="' + (headers[i]?.[1] || '') + '" data-label="' + (headers[i]?.[0] || '') + '">' + text(cell) + '</td>',
            )
            .join('') +
          '</tr>',
      )
      .join('');
}

/** Copies the text of `valueId` (a key, a secret shown once), saying so in `doneId`. */
export async function copyShown(valueId: string, doneId: string, what: string) {
  const value = $(valueId).textContent || '';
  try {
    await navigator.clipboard.writeText(value);
    $(doneId).textContent = 'Copied.';
  } catch {
    // No clipboard (an insecure origin): select the value so Ctrl+C copies it.
    getSelection()?.selectAllChildren($(valueId));
    $(doneId).textContent = 'Press Ctrl+C to copy the selected ' + what + '.';
  }
}

/** A form's submit event, taken by the page's script instead of a navigation. */
export function onSubmit(id: string, act: () => unknown) {
  $(id).onsubmit = (event) => {
    event.preventDefault();
    act();
  };
}
