/** The `circuit-breaker` feature group: circuit breakers: the configured concurrency passes, the rest get 503 UO. */
import type { ConformanceTest } from "../harness/types.js";

export const circuitBreakerTests: ConformanceTest[] = [];
