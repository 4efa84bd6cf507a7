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
