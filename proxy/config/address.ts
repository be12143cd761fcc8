import { isIP } from "node:net";
import type { SocketAddress } from "./model.js";
import type { Obj } from "./reader.js";

export interface AddressRules {
  /** Listeners, admin and static clusters need an IP literal; DNS clusters may use names. */
  ipOnly: boolean;
  /** Listeners may bind port 0 (ephemeral); upstream endpoints may not. */
  allowPortZero: boolean;
}

/** `{socket_address: {address, port_value}}` (Envoy's core Address). */
export function parseAddress(o: Obj | null, rules: AddressRules): SocketAddress | null {
  if (o === null) return null;
  o.unsupported("pipe", "envoy_internal_address");
  const sa = o.obj("socket_address");
  o.done();
  if (sa === null) {
    if (!o.has("pipe") && !o.has("envoy_internal_address"))
      o.error("socket_address", "required field is missing");
    return null;
  }
  return parseSocketAddress(sa, rules);
}

function parseSocketAddress(o: Obj, rules: AddressRules): SocketAddress | null {
  const address = o.name("address");
  o.enumOf("protocol", { TCP: "tcp", UDP: null }, "tcp");
  o.unsupported("named_port", "resolver_name");
  o.ignore("ipv4_compat");
  const min = rules.allowPortZero ? 0 : 1;
  let port: number | null = null;
  if (o.require("port_value")) port = o.int("port_value", 0, min, 65535);
  o.done();
  if (address === undefined || port === null) return null;
  if (rules.ipOnly && isIP(address) === 0) {
    o.error(
      "address",
      `${JSON.stringify(address)} is not an IP address (only strict_dns and logical_dns clusters resolve names)`,
    );
    return null;
  }
  return { address, port };
}
