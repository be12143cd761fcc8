/** Every conformance test, grouped by feature file. */
import type { ConformanceTest } from "../harness/types.js";
import { circuitBreakerTests } from "./circuit-breaker.js";
import { headerTests } from "./headers.js";
import { healthCheckTests } from "./health-check.js";
import { http2Tests } from "./http2.js";
import { localReplyTests } from "./local-replies.js";
import { outlierTests } from "./outlier.js";
import { reloadTests } from "./reload.js";
import { retryTests } from "./retry.js";
import { roundRobinTests } from "./round-robin.js";
import { tlsTests } from "./tls.js";
import { websocketTests } from "./websocket.js";

export const allTests: ConformanceTest[] = [
  ...roundRobinTests,
  ...http2Tests,
  ...headerTests,
  ...websocketTests,
  ...localReplyTests,
  ...healthCheckTests,
  ...outlierTests,
  ...circuitBreakerTests,
  ...retryTests,
  ...reloadTests,
  ...tlsTests,
];

const ids = new Set<string>();
for (const t of allTests) {
  if (ids.has(t.id)) throw new Error(`duplicate conformance test id ${t.id}`);
  ids.add(t.id);
}
