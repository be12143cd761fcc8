import { parseAccessLogs } from "./access_log.js";
import { parseAddress } from "./address.js";
import { parseCluster } from "./cluster.js";
import { parseConnectionLimits } from "./connection_limits.js";
import type { Context } from "./context.js";
import { parseDynamicResources } from "./dynamic_resources.js";
import { didYouMean } from "./hint.js";
import { parseListener } from "./listener.js";
import type {
  AdminConfig,
  Bootstrap,
  ClusterConfig,
  ListenerConfig,
  NodeConfig,
  SocketAddress,
} from "./model.js";
import { type Path, show } from "./path.js";
import { Obj } from "./reader.js";
import { adminAccessLogPath } from "./v2.js";

/** The whole bootstrap, with cross-references checked. Null when the root is not a mapping. */
export function parseBootstrap(ctx: Context, raw: unknown): Omit<Bootstrap, "version" | "warnings"> | null {
  const root = Obj.of(ctx, [], raw);
  if (root === null) return null;
  const limits = parseConnectionLimits(root);
  const sr = root.obj("static_resources");
  const listenerObjs = sr?.objList("listeners") ?? [];
  const clusterObjs = sr?.objList("clusters") ?? [];
  const listeners = firstOfEachName(
    ctx,
    listenerObjs.map((l, i) => parseListener(l, i, limits)),
    listenerObjs,
  );
  for (const [name, { path }] of limits.perListener)
    if (!listeners.some((l) => l?.name === name))
      ctx.warn(path, `ignored: no listener is named ${show(name)}`);
  const clusters = clusterObjs.map((c) => parseCluster(c));
  sr?.unsupported("secrets");
  sr?.done();
  const adminObj = root.obj("admin");
  const admin = adminObj === null ? null : parseAdmin(adminObj);
  const nodeObj = root.obj("node");
  const node = nodeObj === null ? undefined : parseNode(nodeObj);
  const dynamicObj = root.obj("dynamic_resources");
  const dynamicResources = dynamicObj === null ? undefined : parseDynamicResources(dynamicObj);
  root.ignore("stats_flush_interval", "header_prefix");
  root.unsupported(
    "cluster_manager",
    "tracing",
    "stats_sinks",
    "stats_config",
    "runtime",
    "watchdog",
    "watchdogs",
    "hds_config",
    "flags_path",
    "fatal_actions",
    "default_regex_engine",
    "bootstrap_extensions",
    "inline_headers",
    "typed_dns_resolver_config",
    "enable_dispatcher_stats",
    "stats_server_version_override",
    "use_tcp_for_dns_lookups",
    "dns_resolution_config",
    "node_context_params",
    "certificate_provider_instances",
    "config_sources",
    "default_config_source",
    "xds_delegate_extension",
    "xds_config_tracker_extension",
    "listener_manager",
    "application_log_config",
    "grpc_async_client_manager_config",
  );
  root.done();

  checkUnique(ctx, clusters, clusterObjs, (c) => c.name, "cluster name");
  checkAddresses(ctx, listeners, listenerObjs, admin);
  const names = new Set(clusters.flatMap((c) => (c === null ? [] : [c.name])));
  // With CDS, a route may name a cluster of the CDS file: checked once the file joined (../server/config_source.ts).
  const parsedAll = clusters.every((c) => c !== null) && dynamicResources?.cds == null;
  for (const ref of ctx.clusterRefs) {
    if (names.has(ref.name) || !parsedAll) continue;
    ctx.error(ref.path, `unknown cluster ${show(ref.name)}${didYouMean(ref.name, names)}`);
  }
  return {
    admin,
    listeners: listeners.filter((l): l is ListenerConfig => l !== null),
    clusters: clusters.filter((c): c is ClusterConfig => c !== null),
    ...(node === undefined ? {} : { node }),
    ...(dynamicResources === undefined ? {} : { dynamicResources }),
  };
}

function parseAdmin(a: Obj): AdminConfig | null {
  const address = a.has("address")
    ? parseAddress(a.obj("address"), { ipOnly: true, allowPortZero: true })
    : null;
  a.oneOf(["access_log_path", "access_log"]);
  const logs = parseAccessLogs(a);
  const accessLogPath = adminAccessLogPath(a) ?? logs[0]?.path ?? null;
  a.ignore("profile_path", "ignore_global_conn_limit");
  a.unsupported("socket_options");
  a.done();
  // No address = no admin listener (v3 semantics).
  return address === null ? null : { address, accessLogPath };
}

function parseNode(n: Obj): NodeConfig {
  const id = n.str("id") ?? null;
  const cluster = n.str("cluster") ?? null;
  n.ignore(
    "metadata",
    "locality",
    "user_agent_name",
    "user_agent_version",
    "user_agent_build_version",
    "extensions",
    "client_features",
    "listening_addresses",
    "build_version",
    "dynamic_parameters",
  );
  n.done();
  return { id, cluster };
}

function checkUnique<T>(
  ctx: Context,
  items: (T | null)[],
  objs: Obj[],
  key: (t: T) => string,
  what: string,
): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    if (item === null) return;
    const k = key(item);
    const first = seen.get(k);
    if (first !== undefined) {
      ctx.error((objs[i] as Obj).at("name"), `duplicate ${what} ${show(k)} (first used at index ${first})`);
    } else seen.set(k, i);
  });
}

const WILDCARDS = new Set(["0.0.0.0", "::"]);

function overlaps(a: SocketAddress, b: SocketAddress): boolean {
  if (a.port === 0 || a.port !== b.port) return false;
  return a.address === b.address || WILDCARDS.has(a.address) || WILDCARDS.has(b.address);
}

/**
 * Two listeners on the same port are an error (Envoy: "has duplicate address"). A listener on the
 * admin's port is only a warning: Envoy's validate mode accepts it (it binds nothing) and serving
 * fails to bind, in Envoy as here.
 */
function checkAddresses(
  ctx: Context,
  listeners: (ListenerConfig | null)[],
  objs: Obj[],
  admin: AdminConfig | null,
): void {
  const taken: { address: SocketAddress; what: string }[] = [];
  listeners.forEach((l, i) => {
    if (l === null) return;
    const path: Path = [...(objs[i] as Obj).at("address"), "socket_address", "port_value"];
    const clash = taken.find((t) => overlaps(t.address, l.address));
    if (clash !== undefined) ctx.error(path, `port ${l.address.port} is already used by ${clash.what}`);
    if (admin !== null && overlaps(admin.address, l.address)) {
      ctx.warn(path, `port ${l.address.port} is also the admin listener's: serving will fail to bind it`);
    }
    taken.push({ address: l.address, what: `listener ${show(l.name)}` });
  });
}

/**
 * Listeners sharing a name: Envoy keeps the first and ignores the others (a static listener is not
 * replaced), so do we, with a warning. Ignored ones become null.
 */
function firstOfEachName(
  ctx: Context,
  listeners: (ListenerConfig | null)[],
  objs: Obj[],
): (ListenerConfig | null)[] {
  const first = new Map<string, number>();
  return listeners.map((l, i) => {
    if (l === null) return null;
    const seen = first.get(l.name);
    if (seen === undefined) {
      first.set(l.name, i);
      return l;
    }
    ctx.warn(
      (objs[i] as Obj).at("name"),
      `ignored: listener name ${show(l.name)} is taken by listeners[${seen}] (Envoy keeps the first)`,
    );
    return null;
  });
}
