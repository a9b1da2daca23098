// Where to go after signing in: only a path on this origin, whatever the query string says.

const FALLBACK = "/";

/**
 * `raw` (a `callbackUrl`) as a same-origin path (`/path?query#hash`), or "/" when it could lead anywhere else:
 * other origins, scheme-relative `//host`, `/\host` (browsers read `\` as `/`), control characters, other schemes.
 * An absolute URL on `origin` itself (what next-auth puts in `callbackUrl`) is reduced to its path.
 */
export function safeRedirectPath(raw: string | null | undefined, origin: string): string {
  if (!raw || raw.length > 2048) return FALLBACK;
  // The URL parser silently drops tabs and newlines and reads `\` as `/`: refuse them instead of guessing.
  if (/[\u0000-\u001f\u007f\\]/.test(raw)) return FALLBACK;
  let base: URL;
  let url: URL;
  try {
    base = new URL(origin);
    url = new URL(raw, base);
  } catch {
    return FALLBACK;
  }
  if (url.origin !== base.origin || (url.protocol !== "http:" && url.protocol !== "https:")) return FALLBACK;
  if (!raw.startsWith("/") && !raw.toLowerCase().startsWith(`${base.origin.toLowerCase()}/`) && raw !== base.origin) return FALLBACK;
  const path = `${url.pathname}${url.search}${url.hash}`;
  // Dot segments can normalise `/.//evil` into `//evil`, which a router would treat as another host.
  if (!path.startsWith("/") || path.startsWith("//") || path.startsWith("/\\")) return FALLBACK;
  return path;
}
