/**
 * A URL's user info: after `scheme://`, everything up to the last `@` before the host's end
 * (a slash, `?`, `#`, white space or a quote), so a password holding an unescaped `@` goes too.
 */
const URL_USER_INFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@'"<>`]*(?:@[^\s/?#@'"<>`]*)*@/gi;

/**
 * Replaces the user info of every URL inside a text with `***`, so a repo URL that carries a
 * token (`https://x-access-token:TOKEN@github.com/org/repo`) can be shown in messages, answers
 * and logs. Pure; text without such URLs comes back unchanged.
 * @example redactUrls("cannot fetch https://x-access-token:ghs_abc@github.com/acme/gitops") // "cannot fetch https://***@github.com/acme/gitops"
 */
export function redactUrls(text: string): string {
  return text.replace(URL_USER_INFO, '$1***@');
}
