/** The members section (wallet sessions): everyone reads the list; owners add a wallet with a role and remove one after a confirmation. */
import { api, isOwner, mine, sendJson } from './api.client.js';
import { $, type Column, onSubmit, short, table, when } from './page.client.js';

interface Member {
  address: string;
  role: 'owner' | 'admin' | 'viewer';
  addedBy: string | null;
  createdAt: string;
}

let memberRows: Member[] = [];

export async function loadMembers() {
  const members = (await api<{ members: Member[] }>('/v1/members')).members;
  memberRows = members;
  const owner = isOwner();
  // An Actions column only where there is one to take: an owner alone in the list cannot remove itself.
  const removable = owner && members.some((m) => !mine(m.address));
  const headers: Column[] = [['Wallet'], ['Role'], ['Added by'], ['Since', 'when']];
  if (removable) headers.push(['Actions', 'actions']);
  table(
    'members',
    headers,
    members.map((m) => [
      short(m.address) + (mine(m.address) ? ' (you)' : ''),
      m.role,
      m.addedBy ? short(m.addedBy) : '—',
      when(m.createdAt),
    ]),
    'No members.',
  );
  const rows = $('members').querySelectorAll('tr');
  members.forEach((m, i) => {
    const row = rows[i + 1] as HTMLTableRowElement | undefined;
    if (!row) return;
    // The wallet whole (it is what an owner checks before removing it), breaking anywhere on a phone.
    const wallet = document.createElement('code');
    wallet.textContent = m.address;
    (row.cells[0] as HTMLTableCellElement).replaceChildren(wallet, mine(m.address) ? ' (you)' : '');
    if (m.addedBy) (row.cells[2] as HTMLTableCellElement).title = m.addedBy;
    if (!removable) return;
    const cell = row.insertCell();
    cell.className = 'actions';
    cell.dataset.label = 'Actions';
    // Never one's own wallet: a session cannot take itself out from under the page.
    if (mine(m.address)) return;
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Remove';
    button.setAttribute('aria-label', 'Remove member ' + m.address);
    button.onclick = () => removeMember(m);
    cell.append(button);
  });
  $('member-form').hidden = !owner;
}

async function addMember() {
  $('member-error').textContent = '';
  const address = $('member-address').value.trim();
  // One already in the list is said at once, not asked of the API to be refused.
  const known = memberRows.find((m) => m.address.toLowerCase() === address.toLowerCase());
  if (known) {
    $('member-error').textContent = 'the wallet is already a member of this organization (' + known.role + ')';
    return;
  }
  try {
    await api('/v1/members', sendJson('POST', { address, role: $('member-role').value }));
    ($('member-form') as unknown as HTMLFormElement).reset();
    await loadMembers();
    $('member-address').focus();
  } catch (error) {
    $('member-error').textContent = (error as Error).message;
  }
}

async function removeMember(member: Member) {
  $('member-error').textContent = '';
  if (!confirm('Remove ' + member.address + ' (' + member.role + ') from the organization? Its sessions end at once.')) return;
  try {
    await api('/v1/members/' + member.address, { method: 'DELETE' });
  } catch (error) {
    $('member-error').textContent = (error as Error).message;
  }
  await loadMembers();
  // The pressed button is gone with its row: the focus goes on to the form's first field.
  $('member-address').focus();
}

export function resetMembers() {
  $('member-error').textContent = '';
}

export function wireMembers() {
  onSubmit('member-form', addMember);
  // An error said about the last attempt goes once the visitor changes what they typed.
  $('member-address').oninput = () => {
    $('member-error').textContent = '';
  };
}
