// Secrets never leave their owner: connection strings, passwords and lease tokens are
// replaced before any message is shown, logged or thrown.

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*)(:[^\s/@]*)?@/gi;
const PASSWORD_PARAM = /(password\s*=\s*)('[^']*'|"[^"]*"|[^\s&]+)/gi;

export const REDACTED = '[redacted]';

/** The password inside a connection string, if any (URL or key=value form). */
export function passwordOf(connectionString: string): string | undefined {
  try {
    const url = new URL(connectionString);
    if (url.password) return decodeURIComponent(url.password);
  } catch {
    // Not a URL: try the key=value form below.
  }
  const match = /password\s*=\s*('([^']*)'|"([^"]*)"|(\S+))/i.exec(connectionString);
  return match ? (match[2] ?? match[3] ?? match[4]) : undefined;
}

/** Replace every known secret, and the credentials of anything shaped like a URL or password=... */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 3) out = out.split(secret).join(REDACTED);
  }
  return out.replace(URL_CREDENTIALS, `$1${REDACTED}@`).replace(PASSWORD_PARAM, `$1${REDACTED}`);
}
