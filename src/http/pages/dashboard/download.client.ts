/**
 * Saves a CSV export. The exports need the Authorization header, which a plain link cannot send: the
 * file is fetched with it, then saved from a Blob through a temporary <a download> under the name
 * the server gives it (Content-Disposition).
 */
import { signedIn } from './api.client.js';

/** The filename of a `Content-Disposition: attachment; filename="…"` header, or `fallback`. */
function filenameOf(disposition: string | null, fallback: string): string {
  return /filename="([^"]+)"/.exec(disposition || '')?.[1] || fallback;
}

/** Fetches `path` with the signed-in credential and saves the answer; throws the API's message when it refuses. */
export async function saveDownload(path: string, fallbackName: string): Promise<string> {
  const response = await fetch(path, { headers: { authorization: 'Bearer ' + signedIn.credential } });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(body.error?.message || 'HTTP ' + response.status);
  }
  const name = filenameOf(response.headers.get('content-disposition'), fallbackName);
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement('a'), { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // revoked after the click has handed the Blob to the download, not before
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}
