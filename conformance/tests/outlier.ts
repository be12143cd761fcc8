/** The `outlier` feature group: outlier detection: consecutive 5xx eject an instance for base_ejection_time. */
import type { ConformanceTest } from "../harness/types.js";

export const outlierTests: ConformanceTest[] = [];
