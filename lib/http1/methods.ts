/**
 * The request methods the downstream codec accepts: exactly those Envoy 1.40's HTTP/1.1 codec
 * (BalsaParser) takes without `allow_custom_methods`, measured on a running Envoy 1.40 (the methods of
 * nodejs/http-parser, less `M-SEARCH`). Any other method, a lower-case one included, is a 400, as
 * there: a method the next hop may read otherwise (or not at all) does not pass.
 */
export const METHODS: ReadonlySet<string> = new Set([
  "ACL",
  "BIND",
  "CHECKOUT",
  "CONNECT",
  "COPY",
  "DELETE",
  "GET",
  "HEAD",
  "LINK",
  "LOCK",
  "MERGE",
  "MKACTIVITY",
  "MKCALENDAR",
  "MKCOL",
  "MOVE",
  "NOTIFY",
  "OPTIONS",
  "PATCH",
  "POST",
  "PROPFIND",
  "PROPPATCH",
  "PURGE",
  "PUT",
  "REBIND",
  "REPORT",
  "SEARCH",
  "SOURCE",
  "SUBSCRIBE",
  "TRACE",
  "UNBIND",
  "UNLINK",
  "UNLOCK",
  "UNSUBSCRIBE",
]);
