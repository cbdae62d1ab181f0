/**
 * Credentials out of what is printed: the password of every URL in a text (`redis://:secret@host` reads
 * `redis://:***@host`, `redis://user:secret@host` reads `redis://user:***@host`), for log lines, error
 * messages and health reports that name a configured URL.
 */

// The authority's user information runs to its last `@` before the path, query or fragment: a password may
// hold an unescaped `@` (`redis://:p@ss@host`), and the URL parser splits at the last one too.
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#]*)@/gi;

/** `text` with the password of every URL in it replaced by `***`. */
export function redactCredentials(text: string): string {
  return text.replace(USERINFO, (_match, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    // Without a colon the user name itself is often the secret (`https://<token>@host`).
    return `${scheme}${colon < 0 ? '***' : `${userinfo.slice(0, colon)}:***`}@`;
  });
}
