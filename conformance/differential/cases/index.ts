/** The differential corpus: every case, in run order (cases sharing a config run together). */
import type { Case } from "../types.js";
import { circuitBreakerCases } from "./circuit_breakers.js";
import { framingCases } from "./framing.js";
import { headerCases } from "./headers.js";
import { healthCheckCases } from "./health_check.js";
import { localReplyCases } from "./local_replies.js";
import { outlierCases } from "./outlier.js";
import { protocolCases } from "./protocols.js";
import { retryCases } from "./retries.js";
import { routingCases } from "./routing.js";

/**
 * Cases left out of the corpus until our proxy does what Envoy 1.40 does there (issue 12's features
 * landed without it); each with what Envoy does. `ECHOMESH_DIFF_PENDING=1` runs them too. Remove an
 * id once its case passes.
 */
export const PENDING: Readonly<Record<string, string>> = {};

/** Every case written, pending ones included. */
const written: readonly Case[] = [
  ...headerCases,
  ...framingCases,
  ...localReplyCases,
  ...routingCases,
  ...protocolCases,
  ...retryCases,
  ...circuitBreakerCases,
  ...outlierCases,
  ...healthCheckCases,
];

export const allCases: readonly Case[] = written.filter((c) => PENDING[c.id] === undefined);

/** The PENDING cases (`ECHOMESH_DIFF_PENDING=1` runs them after the corpus). */
export const pendingCases: readonly Case[] = written.filter((c) => PENDING[c.id] !== undefined);
