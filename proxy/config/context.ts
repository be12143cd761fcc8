import type { Issue, Path } from "./path.js";

/**
 * What one load collects: every error (the load fails if there is any), warnings for fields that are
 * accepted but ignored, and where v2-only syntax was seen (decides Bootstrap.version).
 */
export class Context {
  readonly errors: Issue[] = [];
  readonly warnings: Issue[] = [];
  readonly v2Syntax: Path[] = [];
  /** Cluster names used by routes (checked against the clusters once all are read). */
  readonly clusterRefs: { path: Path; name: string }[] = [];

  error(path: Path, message: string): void {
    this.errors.push({ path, message });
  }

  warn(path: Path, message: string): void {
    this.warnings.push({ path, message });
  }

  referenceCluster(path: Path, name: string): void {
    this.clusterRefs.push({ path, name });
  }

  /** Record that `path` uses a v2-only spelling (it is still accepted). */
  sawV2(path: Path): void {
    this.v2Syntax.push(path);
  }
}
