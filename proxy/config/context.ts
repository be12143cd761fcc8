import type { ConfigVersion } from "./model.js";
import type { Issue, Path } from "./path.js";

/** A problem whose weight depends on the dialect: an error, a warning, or nothing (absent). */
interface DialectIssue {
  path: Path;
  v2?: { level: "error" | "warning"; message: string };
  v3?: { level: "error" | "warning"; message: string };
}

/**
 * What one load collects: every error (the load fails if there is any), warnings for fields that are
 * accepted but not applied, the cluster names routes use, and what decides the dialect.
 *
 * The dialect: a file that names a v3 type URL (`"@type": type.googleapis.com/envoy.<...>.v3.<...>`,
 * which every v3 listener does) is v3; otherwise a file that uses a v2-only spelling (`config:`,
 * `hosts`, `use_websocket`...) is v2; otherwise (no listener, nothing either way) v3. v2 spellings in
 * a v3 file are errors, as Envoy 1.40 rejects them; some checks differ per dialect (`inDialect`).
 * `settle()` turns all of that into errors and warnings once the whole file has been read.
 */
export class Context {
  readonly errors: Issue[] = [];
  readonly warnings: Issue[] = [];
  /** Cluster names used by routes (checked against the clusters once all are read). */
  readonly clusterRefs: { path: Path; name: string }[] = [];
  private v2Seen = 0;
  private v3Seen = 0;
  private readonly dialectIssues: DialectIssue[] = [];

  error(path: Path, message: string): void {
    this.errors.push({ path, message });
  }

  warn(path: Path, message: string): void {
    this.warnings.push({ path, message });
  }

  referenceCluster(path: Path, name: string): void {
    this.clusterRefs.push({ path, name });
  }

  /** A v2-only spelling at `path`: fine in a v2 file, an error in a v3 file (`v3` says what to write instead). */
  sawV2(path: Path, v3: string): void {
    this.v2Seen++;
    this.inDialect(path, {
      v3: { level: "error", message: `v2 syntax in a v3 file (Envoy 1.40 rejects it): ${v3}` },
    });
  }

  /** A v3 type URL at `path`: the file is v3. */
  sawV3(): void {
    this.v3Seen++;
  }

  /** A v2 spelling that v3 keeps as deprecated: a warning in a v3 file (as Envoy warns), nothing in a v2 file. */
  deprecatedInV3(path: Path, instead: string): void {
    this.inDialect(path, {
      v3: { level: "warning", message: `deprecated in v3 (Envoy 1.40 warns; use ${instead})` },
    });
  }

  /** A problem that is an error, a warning or nothing depending on the dialect. */
  inDialect(path: Path, by: Omit<DialectIssue, "path">): void {
    this.dialectIssues.push({ path, ...by });
  }

  /** The file's dialect; moves the dialect-dependent problems into errors and warnings. Call once, at the end. */
  settle(): ConfigVersion {
    const version: ConfigVersion = this.v3Seen === 0 && this.v2Seen > 0 ? "v2" : "v3";
    for (const issue of this.dialectIssues) {
      const found = issue[version];
      if (found === undefined) continue;
      if (found.level === "error") this.error(issue.path, found.message);
      else this.warn(issue.path, found.message);
    }
    this.dialectIssues.length = 0;
    return version;
  }
}
