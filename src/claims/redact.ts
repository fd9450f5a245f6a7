// Secrets never leave their owner: connection strings, passwords and lease tokens are
// replaced before any message is shown, logged or thrown.

// Greedy up to the last '@' before the host, so a password holding a raw '@' goes too. One
// slash is enough: a URL passed where a path was expected comes back with '//' collapsed.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/?)[^\s/]*@/gi;
const PASSWORD_PARAM = /(password\s*=\s*)('[^']*'|"[^"]*"|[^\s&]+)/gi;
const PASSWORD_JSON = /("password"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;

export const REDACTED = '[redacted]';

function decoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value; // A malformed escape: pg uses it literally, and so do we.
  }
}

/** The password of a connection string as pg uses it: URL forms percent-decoded, key=value literal. */
export function passwordOf(connectionString: string): string | undefined {
  try {
    const url = new URL(connectionString);
    if (url.password) return decoded(url.password);
    const param = /[?&]password=([^&#]*)/i.exec(connectionString)?.[1];
    return param ? decoded(param) : undefined;
  } catch {
    // Not a URL: the key=value form.
  }
  const match = /password\s*=\s*('([^']*)'|"([^"]*)"|([^\s&]+))/i.exec(connectionString);
  return match ? (match[2] ?? match[3] ?? match[4]) : undefined;
}

/** Every form the password may take in a message: as pg uses it, and as written in the string. */
export function passwordsOf(connectionString: string): string[] {
  const forms = [passwordOf(connectionString)];
  try {
    const url = new URL(connectionString);
    forms.push(url.password, /[?&]password=([^&#]*)/i.exec(connectionString)?.[1]);
  } catch {
    // Not a URL: the key=value form is taken literally.
  }
  return [...new Set(forms.filter((p): p is string => Boolean(p)))];
}

/**
 * Replace every known secret, and the credentials of anything shaped like a URL, password=...
 * or "password": "...". Secrets shorter than 3 characters are not replaced on their own (that
 * would shred every message); they still go wherever they appear in one of those shapes.
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  // Longest first, so a secret that contains another is replaced whole.
  const sorted = [...secrets].filter((s): s is string => Boolean(s)).sort((a, b) => b.length - a.length);
  for (const secret of sorted) {
    if (secret && secret.length >= 3) out = out.split(secret).join(REDACTED);
  }
  return out
    .replace(URL_CREDENTIALS, `$1${REDACTED}@`)
    .replace(PASSWORD_PARAM, `$1${REDACTED}`)
    .replace(PASSWORD_JSON, `$1"${REDACTED}"`);
}
