/** Every benchmark target by name. */
import { direct, minimal } from "./baselines.js";
import { caddy, caddyH2up, caddyMesh } from "./caddy.js";
import { echomesh, echomeshH2up, echomeshMesh, echomeshTls } from "./echomesh.js";
import { envoy, envoyH2up, envoyMesh, envoyTls } from "./envoy.js";
import { haproxy, haproxyH2up, haproxyMesh, haproxyTls } from "./haproxy.js";
import { nginx } from "./nginx.js";
import { fastifyHttpProxy, nodeHttpProxy } from "./node-peers.js";
import type { Target } from "./types.js";

export const TARGETS: readonly Target[] = [
  direct,
  minimal,
  echomesh,
  echomeshH2up,
  echomeshMesh,
  echomeshTls,
  envoy,
  envoyH2up,
  envoyMesh,
  envoyTls,
  haproxy,
  haproxyH2up,
  haproxyMesh,
  haproxyTls,
  nginx,
  caddy,
  caddyH2up,
  caddyMesh,
  nodeHttpProxy,
  fastifyHttpProxy,
];

export function targetByName(name: string): Target {
  const t = TARGETS.find((x) => x.name === name);
  if (t === undefined) throw new Error(`unknown target ${name}`);
  return t;
}
