/**
 * Every scope's stats declaration in one list, for what spans all of them: the README's tables
 * (./readme.ts) and how the primary merges gauges from its workers (`isPerProcessGauge`).
 * A new scope is declared beside its component (./declare.ts) and added here.
 */
import { HOST_STATS } from "../conn_pool/host_stats.js";
import { HTTP2_CODEC_STATS } from "../http/h2_codec_stats.js";
import { HTTP_CONN_MAN_STATS, ROUTER_STATS } from "../http/stats.js";
import { GLOBAL_CONNECTIONS_STATS, LISTENER_HTTP_STATS, LISTENER_STATS } from "../listener/stats.js";
import { CDS_STATS, LDS_STATS, LISTENER_MANAGER_STATS, SERVER_STATS } from "../server/stats.js";
import { CLUSTER_SSL_STATS, LISTENER_SSL_STATS } from "../tls/stats.js";
import {
  CLUSTER_MANAGER_STATS,
  CLUSTER_STATS,
  HEALTH_CHECK_STATS,
  OUTLIER_DETECTION_STATS,
  REMAINING_STATS,
} from "../upstream/cluster_stats.js";
import type { ScopeDecl } from "./declare.js";

/** In the README's order. */
export const STAT_SCOPES: readonly ScopeDecl[] = [
  LISTENER_STATS,
  LISTENER_SSL_STATS,
  HTTP_CONN_MAN_STATS,
  LISTENER_HTTP_STATS,
  ROUTER_STATS,
  HTTP2_CODEC_STATS,
  CLUSTER_STATS,
  CLUSTER_SSL_STATS,
  OUTLIER_DETECTION_STATS,
  HEALTH_CHECK_STATS,
  REMAINING_STATS,
  HOST_STATS,
  CLUSTER_MANAGER_STATS,
  CDS_STATS,
  LISTENER_MANAGER_STATS,
  LDS_STATS,
  SERVER_STATS,
  GLOBAL_CONNECTIONS_STATS,
];

/** `cluster.<name>.membership_total` -> /^cluster\..+\.membership_total$/ (the placeholder matches any text). */
function namePattern(prefix: string, name: string): string {
  return (prefix + name)
    .split(/<[^>]+>/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".+");
}

const PER_PROCESS_GAUGE = new RegExp(
  `^(?:${STAT_SCOPES.flatMap((scope) =>
    Object.entries(scope.stats)
      .filter(([, decl]) => decl.kind === "gauge" && decl.perProcess)
      .map(([name]) => namePattern(scope.prefix, name)),
  ).join("|")})$`,
);

/**
 * A gauge every worker process holds its own copy of (declared `perProcess`): the primary shows
 * the largest value, not the sum.
 */
export function isPerProcessGauge(name: string): boolean {
  return PER_PROCESS_GAUGE.test(name);
}
