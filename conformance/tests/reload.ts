/** The `reload` feature group: config reload without a failed request. */
import type { ConformanceTest } from "../harness/types.js";

export const reloadTests: ConformanceTest[] = [];
