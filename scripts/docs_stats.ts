/**
 * `npm run docs:stats`: writes the stats tables of proxy/README.md from the stats declarations
 * (proxy/stats/readme.ts). proxy/test/stats/readme.test.ts fails until they agree.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fromRoot } from "../lib/paths.js";
import { withStatsTables } from "../proxy/stats/readme.js";

const path = fromRoot("proxy", "README.md");
const before = readFileSync(path, "utf8");
const after = withStatsTables(before);
if (after === before) {
  process.stdout.write("proxy/README.md: the stats tables are up to date\n");
} else {
  writeFileSync(path, after);
  process.stdout.write("proxy/README.md: stats tables rewritten\n");
}
