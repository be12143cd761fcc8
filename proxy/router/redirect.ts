import type { RedirectAction, RouteMatch } from "../config/model.js";

/**
 * The `location` of a redirect route (Envoy's `RouteEntryImplBase::newUri`): scheme, host, port and
 * path each replaced when configured; the original query is kept unless `strip_query`.
 * A scheme change to https drops an explicit `:80`.
 */
export function redirectLocation(
  action: RedirectAction,
  match: RouteMatch,
  authority: string,
  path: string,
): string {
  const scheme = action.httpsRedirect ? "https" : (action.schemeRedirect ?? "http");
  let host = authority;
  let port = "";
  const colon = hostPortSplit(authority);
  if (colon >= 0) {
    host = authority.slice(0, colon);
    port = authority.slice(colon);
  }
  if (action.hostRedirect !== null) {
    host = action.hostRedirect;
    port = "";
  }
  if (action.portRedirect !== null) port = `:${action.portRedirect}`;
  else if (scheme === "https" && port === ":80") port = "";

  const q = path.indexOf("?");
  const pathOnly = q < 0 ? path : path.slice(0, q);
  const query = q < 0 || action.stripQuery ? "" : path.slice(q);
  let newPath = pathOnly;
  if (action.pathRedirect !== null) {
    newPath = action.pathRedirect;
  } else if (action.prefixRewrite !== null) {
    const matched = match.path.kind === "prefix" ? match.path.value.length : pathOnly.length;
    newPath = action.prefixRewrite + pathOnly.slice(matched);
  }
  if (action.pathRedirect?.includes("?")) return `${scheme}://${host}${port}${newPath}`;
  return `${scheme}://${host}${port}${newPath}${query}`;
}

/** Index of the `:` before a port, or -1 (IPv6 literals in brackets are handled). */
function hostPortSplit(authority: string): number {
  const colon = authority.lastIndexOf(":");
  if (colon < 0) return -1;
  if (authority.startsWith("[")) return authority.charCodeAt(colon - 1) === 93 ? colon : -1;
  return authority.indexOf(":") === colon ? colon : -1;
}
