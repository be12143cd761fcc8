/**
 * The connection limits Envoy reads outside the listener: a listener's own limit, the runtime key
 * `envoy.resource_limits.listener.<name>.connection_limit` (in a `layered_runtime` static layer), and
 * the overload manager's global limit, the resource monitor
 * `envoy.resource_monitors.global_downstream_max_connections`. Nothing else of the runtime or the
 * overload manager is applied: other keys, layers, monitors and actions are accepted with a warning
 * naming them (docs/ENVOY-DIFFERENCES.md, "Configuration").
 */
import type { Path } from "./path.js";
import { isMapping, type Obj } from "./reader.js";
import { checkShape, OVERLOAD_MANAGER } from "./shape.js";
import { typedConfigBody } from "./v3.js";

export interface ConnectionLimits {
  /** Listener name -> its limit and where the file set it (later layers win, as in Envoy). */
  readonly perListener: ReadonlyMap<string, { limit: number; path: Path }>;
  /** `max_active_downstream_connections`; null without the resource monitor. */
  readonly global: number | null;
}

const LISTENER_LIMIT = /^envoy\.resource_limits\.listener\.(.+)\.connection_limit$/;
const DOWNSTREAM_CONNECTIONS =
  "type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig";
const NO_LOAD_SHED = "echomesh-proxy sheds no load";
const NO_EFFECT = "has no effect in echomesh-proxy";
/** Envoy's bound: `int64 max_active_downstream_connections`, greater than 0. */
const MAX_CONNECTIONS = Number.MAX_SAFE_INTEGER;

/** Reads `layered_runtime` and `overload_manager` of the bootstrap `root`. */
export function parseConnectionLimits(root: Obj): ConnectionLimits {
  return { perListener: parseRuntime(root), global: parseOverloadManager(root) };
}

/**
 * `layered_runtime.layers[]`: each a `name` and one of `static_layer` (a Struct: nested mappings join
 * their keys with dots, as Envoy flattens them), `disk_layer`, `admin_layer`, `rtds_layer`.
 */
function parseRuntime(root: Obj): Map<string, { limit: number; path: Path }> {
  const limits = new Map<string, { limit: number; path: Path }>();
  const runtime = root.obj("layered_runtime");
  if (runtime === null) return limits;
  const ignored: Path[] = [];
  for (const layer of runtime.objList("layers")) {
    layer.str("name");
    const kind = layer.oneOf(["static_layer", "disk_layer", "admin_layer", "rtds_layer"], true);
    if (kind === "static_layer") {
      const body = layer.get(kind);
      if (isMapping(body)) readStaticLayer(root, body, layer.at(kind), limits, ignored);
      else layer.error(kind, "expected a mapping");
    } else if (kind !== null) ignored.push(layer.at(kind));
    layer.done();
  }
  runtime.done();
  if (limits.size === 0) root.ignore("layered_runtime");
  else for (const path of ignored) root.ctx.warn(path, `ignored (${NO_EFFECT})`);
  return limits;
}

function readStaticLayer(
  root: Obj,
  struct: Readonly<Record<string, unknown>>,
  path: Path,
  limits: Map<string, { limit: number; path: Path }>,
  ignored: Path[],
  prefix = "",
): void {
  for (const [key, value] of Object.entries(struct)) {
    const name = prefix === "" ? key : `${prefix}.${key}`;
    const at: Path = [...path, key];
    if (isMapping(value)) {
      readStaticLayer(root, value, at, limits, ignored, name);
      continue;
    }
    const listener = LISTENER_LIMIT.exec(name)?.[1];
    if (listener === undefined) {
      ignored.push(at);
      continue;
    }
    // Envoy reads the key as an unsigned integer (a number, or a string of digits).
    const limit = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof limit === "number" && Number.isSafeInteger(limit) && limit >= 0)
      limits.set(listener, { limit, path: at });
    else root.ctx.error(at, "expected a connection count (an integer, 0 or more)");
  }
}

/**
 * `overload_manager`: the `global_downstream_max_connections` monitor is applied; other monitors,
 * actions and load shed points are accepted with a warning (nothing else is shed).
 */
function parseOverloadManager(root: Obj): number | null {
  const om = root.obj("overload_manager");
  if (om === null) return null;
  let global: number | null = null;
  const ignored: Path[] = [];
  for (const monitor of om.objList("resource_monitors")) {
    monitor.name("name");
    const typed = monitor.require("typed_config") ? typedConfigBody(monitor) : null;
    if (typed?.typeUrl === DOWNSTREAM_CONNECTIONS) {
      if (global !== null) monitor.error(null, "a second global_downstream_max_connections monitor");
      global = typed.body.int("max_active_downstream_connections", 0, 1, MAX_CONNECTIONS);
      if (!typed.body.has("max_active_downstream_connections"))
        typed.body.error("max_active_downstream_connections", "required field is missing");
      typed.body.done();
    } else if (typed !== null) ignored.push(monitor.path);
    monitor.done();
  }
  if (global === null) {
    root.ignoreBecause("overload_manager", NO_LOAD_SHED);
  } else {
    for (const path of ignored) root.ctx.warn(path, `ignored (${NO_LOAD_SHED})`);
    for (const key of ["actions", "loadshed_points"])
      if (om.list(key).length > 0) root.ctx.warn(om.at(key), `ignored (${NO_LOAD_SHED})`);
  }
  checkShape(om, OVERLOAD_MANAGER);
  return global;
}
