// The cross-site rule: a page on another site, open in an admin's browser, must not be able
// to make certd change anything with the admin's credentials (the browser sends them). A
// request that changes state is refused when its Origin is neither certd's own (the Host
// it was sent to, compared without the scheme) nor a trusted origin, when the browser says
// it comes from another site (Sec-Fetch-Site: cross-site, or same-site: a sibling host is
// another party on a camera), or when it comes from a browser at all (Origin or Sec-Fetch-*)
// with a content type that a plain HTML form can send to a route that does not accept it.
// Scripts (curl -d sends application/x-www-form-urlencoded) carry none of those markers.
// GET and HEAD change nothing and are not refused; browsers keep their answers from the page.
import type { IncomingHttpHeaders } from 'node:http';

const SAFE_METHODS = new Set(['GET', 'HEAD']);
const FROM_ELSEWHERE = new Set(['cross-site', 'same-site']);

/** Whether the Origin header names the server the request was sent to, or a trusted origin. */
function ownOrigin(origin: string, host: string | undefined, trusted: ReadonlySet<string>): boolean {
  if (trusted.has(origin)) return true;
  if (host === undefined) return false;
  try {
    const o = new URL(origin);
    // The Host header read under the Origin's scheme, so that a default port written out matches.
    return (o.protocol === 'http:' || o.protocol === 'https:') && o.host === new URL(`${o.protocol}//${host}`).host;
  } catch {
    return false; // "null" (sandboxed frames, file: pages) and anything unparsable
  }
}

/** The media type of a Content-Type value, lower case, without parameters. */
function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Why the request is refused as cross-site, or undefined when it is not. `accepts` are the
 * media types of the route's body (none declared: any).
 */
export function crossSiteRefusal(method: string, headers: IncomingHttpHeaders, accepts: readonly string[] | undefined, trusted: ReadonlySet<string>): string | undefined {
  if (SAFE_METHODS.has(method)) return undefined;
  const origin = headers.origin;
  if (origin !== undefined && !ownOrigin(origin, headers.host, trusted)) return 'Origin is another site';
  const site = headers['sec-fetch-site'];
  if (site !== undefined && FROM_ELSEWHERE.has(site.toLowerCase())) return `Sec-Fetch-Site is ${site.toLowerCase()}`;
  const browser = origin !== undefined || Object.keys(headers).some((h) => h.startsWith('sec-fetch-'));
  if (browser && accepts !== undefined && !accepts.includes(mediaType(headers['content-type']))) {
    return `a browser must send ${accepts.join(' or ')}`;
  }
  return undefined;
}
