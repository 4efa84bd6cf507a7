/** The one rule for links from peers: http(s) with a host and no credentials, or nothing. */
export function isWebUrl(url: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (url.length > 2048 || /[\u0000-\u0020\u007f-\u009f]/.test(url)) return false;
  try {
    const u = new URL(url);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !!u.hostname && !u.username && !u.password;
  } catch {
    return false;
  }
}

/**
 * A web link to this machine (localhost, 127.0.0.0/8, ::1, 0.0.0.0). VS Code opens such links
 * without asking, but one from a peer can reach a local dev server or admin page under an
 * innocent link text: the host asks first.
 */
export function isLocalUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || host === '0.0.0.0' || host === '[::]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || /^\[::ffff:(7f|127\.)/.test(host);
}
