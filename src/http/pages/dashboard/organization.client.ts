/** The organization's name in the header (and the tab's title), which its owner renames. */
import { api, isOwner, sendJson } from './api.client.js';
import { $, onSubmit } from './page.client.js';

export function showOrganization(name: string) {
  $('org-name').textContent = name;
  document.title = name + ' · a2a-paygate billing';
  $('rename').hidden = !isOwner();
}

async function rename() {
  $('rename-error').textContent = '';
  try {
    const renamed = await api<{ name: string }>('/v1/organization', sendJson('PATCH', { name: $('rename-input').value }));
    $('rename-form').hidden = true;
    showOrganization(renamed.name);
    $('rename').focus();
  } catch (error) {
    $('rename-error').textContent = (error as Error).message;
  }
}

export function resetOrganization() {
  $('rename').hidden = true;
  $('rename-form').hidden = true;
  $('org-name').textContent = 'Billing dashboard';
  document.title = 'a2a-paygate · billing';
}

export function wireOrganization() {
  $('rename').onclick = () => {
    $('rename-input').value = $('org-name').textContent || '';
    $('rename-error').textContent = '';
    $('rename-form').hidden = false;
    $('rename-input').focus();
  };
  $('rename-cancel').onclick = () => {
    $('rename-form').hidden = true;
    $('rename').focus();
  };
  onSubmit('rename-form', rename);
}
