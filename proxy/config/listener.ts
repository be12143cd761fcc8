import { parseAddress } from "./address.js";
import type { ConnectionLimits } from "./connection_limits.js";
import { resolveExtension } from "./extension.js";
import { NETWORK_FILTERS, parseHcm } from "./hcm.js";
import type { DownstreamTlsContext, HttpConnectionManagerConfig, ListenerConfig } from "./model.js";
import type { Obj } from "./reader.js";
import { filterChainTls } from "./tls.js";

/**
 * A listener: an IP address and one filter chain holding one http_connection_manager; its connection
 * limits come from the runtime and the overload manager (`limits`).
 */
export function parseListener(l: Obj, index: number, limits: ConnectionLimits): ListenerConfig | null {
  const name = l.str("name") ?? `listener_${index}`;
  const ignoreGlobal = l.bool("ignore_global_conn_limit", false);
  const address = l.require("address")
    ? parseAddress(l.obj("address"), { ipOnly: true, allowPortZero: true })
    : null;
  const chains = l.objList("filter_chains");
  if (chains.length === 0 && l.list("filter_chains").length === 0) {
    l.error("filter_chains", "a listener needs one filter chain with an http_connection_manager");
  }
  for (const extra of chains.slice(1))
    extra.error(null, "unsupported: more than one filter chain per listener");
  const chain = chains[0] === undefined ? null : parseFilterChain(chains[0]);
  const hcm = chain?.hcm ?? null;
  l.ignore("traffic_direction", "per_connection_buffer_limit_bytes", "metadata", "drain_type", "stat_prefix");
  l.unsupported(
    "listener_filters",
    "listener_filters_timeout",
    "continue_on_listener_filters_timeout",
    "use_original_dst",
    "transparent",
    "freebind",
    "socket_options",
    "tcp_fast_open_queue_length",
    "connection_balance_config",
    "enable_reuse_port",
    "reuse_port",
    "udp_listener_config",
    "api_listener",
    "bind_to_port",
    "default_filter_chain",
    "filter_chain_matcher",
    "additional_addresses",
    "tcp_backlog_size",
    "deprecated_v1",
  );
  l.done();
  if (address === null || hcm === null || chain?.tls === null) return null;
  return {
    name,
    address,
    hcm,
    connectionLimit: limits.perListener.get(name)?.limit ?? null,
    globalConnectionLimit: ignoreGlobal ? null : limits.global,
    ...(chain?.tls === undefined ? {} : { tls: chain.tls }),
  };
}

/** One filter chain: its connection manager and its TLS transport socket (null after an error, undefined = plain). */
function parseFilterChain(c: Obj): {
  hcm: HttpConnectionManagerConfig | null;
  tls: DownstreamTlsContext | null | undefined;
} {
  const filters = c.objList("filters");
  let hcm: HttpConnectionManagerConfig | null = null;
  let found = false;
  for (const f of filters) {
    const resolved = resolveExtension(f, NETWORK_FILTERS, "network filter");
    f.done();
    if (resolved === null) continue;
    if (found) {
      f.error(null, "unsupported: more than one http_connection_manager in a filter chain");
      continue;
    }
    found = true;
    hcm = parseHcm(resolved.body);
  }
  if (!found && filters.length === 0) c.error("filters", "a filter chain needs an http_connection_manager");
  c.ignore("name", "metadata");
  const tls = filterChainTls(c);
  c.unsupported(
    "filter_chain_match",
    "use_proxy_proto",
    "transport_socket_connect_timeout",
    "on_demand_configuration",
  );
  c.done();
  return { hcm, tls };
}
