/**
 * @module The access token. It arrives in a share link's fragment
 * (`#token=...`, which browsers never send to a server) or is typed once,
 * and lives in sessionStorage. It is taken out of the address bar with
 * replaceState, so no history entry holds it, and it is never logged.
 */

const KEY = "edgetail.token";

/**
 * Moves a `token=` fragment parameter into sessionStorage and rewrites the
 * URL without it. Returns the rest of the fragment (e.g. `L12`).
 */
export function adoptFragmentToken(): string {
  const parts = location.hash.replace(/^#/, "").split("&").filter(Boolean);
  const rest = parts.filter((p) => !p.startsWith("token="));
  const found = parts.find((p) => p.startsWith("token="));
  if (found) {
    const token = decodeURIComponent(found.slice("token=".length));
    if (token) saveToken(token);
    const hash = rest.length > 0 ? `#${rest.join("&")}` : "";
    history.replaceState(
      history.state,
      "",
      `${location.pathname}${location.search}${hash}`,
    );
  }
  return rest.join("&");
}

/** The token of this tab, if any. */
export function currentToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

/** Keeps a token for this tab. */
export function saveToken(token: string): void {
  try {
    sessionStorage.setItem(KEY, token.trim());
  } catch {
    // Storage disabled: the token lasts as long as the page.
    memoryToken = token.trim();
  }
}

/** Forgets the token (it was refused). */
export function forgetToken(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    memoryToken = null;
  }
}

let memoryToken: string | null = null;

/** The token from storage, or from memory when storage is off. */
export function token(): string | null {
  return currentToken() ?? memoryToken;
}
