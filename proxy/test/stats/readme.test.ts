import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fromRoot } from "../../../lib/paths.js";
import {
  BEGIN_MARKER,
  currentStatsTables,
  END_MARKER,
  statsTables,
  withStatsTables,
} from "../../stats/readme.js";

describe("proxy/README.md's stats tables", () => {
  it("are the ones the declarations generate (`npm run docs:stats` writes them)", () => {
    const readme = readFileSync(fromRoot("proxy", "README.md"), "utf8");
    const expected = statsTables();
    expect(
      currentStatsTables(readme),
      `proxy/README.md and the stats declarations disagree; run \`npm run docs:stats\`, or put this between the stats markers:\n\n${expected}\n`,
    ).toBe(expected);
  });

  it("list every declared stat and pattern", () => {
    const tables = statsTables();
    for (const name of [
      "downstream_rq_ws_on_non_ws_route",
      "rq_reset_after_downstream_response_started",
      "retry_or_shadow_abandoned",
      "upstream_rq_per_try_timeout",
      "upstream_rq_<code>",
      "active_clusters",
    ]) {
      expect(tables).toMatch(new RegExp(`\\| \`${name}\` +\\|`));
    }
    expect(tables).toContain("### Cluster (`cluster.<name>.`)");
  });

  it("replace only what is between the markers", () => {
    const readme = `# t\n\nbefore\n\n${BEGIN_MARKER}\nold\n${END_MARKER}\n\nafter\n`;
    const out = withStatsTables(readme);
    expect(out.startsWith(`# t\n\nbefore\n\n${BEGIN_MARKER}\n\n###`)).toBe(true);
    expect(out.endsWith(`|\n\n${END_MARKER}\n\nafter\n`)).toBe(true);
    expect(currentStatsTables(out)).toBe(statsTables());
    expect(withStatsTables(out)).toBe(out);
    expect(() => withStatsTables("# no markers\n")).toThrow(/stats:begin/);
  });
});
