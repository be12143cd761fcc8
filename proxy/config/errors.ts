import { EchomeshError } from "../../lib/errors.js";

/** The one error the config loader throws: every problem found, each naming its path and value. */
export class ProxyConfigError extends EchomeshError {
  readonly code = "ECHOMESH_PROXY_CONFIG";
  /** One line per problem, e.g. `static_resources.clusters[0].lb_policy: unknown value "x"`. */
  readonly errors: string[];

  constructor(errors: string[]) {
    const noun = errors.length === 1 ? "error" : "errors";
    super(`invalid config (${errors.length} ${noun}):\n${errors.map((e) => `  ${e}`).join("\n")}`);
    this.errors = errors;
  }
}
