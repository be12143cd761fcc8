/** The `retry` feature group: retries: each retry_on condition, previous-hosts, back-off. */
import type { ConformanceTest } from "../harness/types.js";

export const retryTests: ConformanceTest[] = [];
