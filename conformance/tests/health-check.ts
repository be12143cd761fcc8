/** The `health-check` feature group: active health checking: instances leave and rejoin the rotation; panic mode. */
import type { ConformanceTest } from "../harness/types.js";

export const healthCheckTests: ConformanceTest[] = [];
