import { type ExtensionSpec, resolveExtension } from "./extension.js";
import type { AccessLogConfig } from "./model.js";
import type { Obj } from "./reader.js";

const LOGGERS = {
  file: {
    name: "envoy.access_loggers.file",
    deprecatedNames: ["envoy.file_access_log"],
    typeUrl: "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
    v2TypeUrl: "type.googleapis.com/envoy.config.accesslog.v2.FileAccessLog",
  },
  stdout: {
    name: "envoy.access_loggers.stdout",
    deprecatedNames: [],
    typeUrl: "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
  },
  stderr: {
    name: "envoy.access_loggers.stderr",
    deprecatedNames: [],
    typeUrl: "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog",
  },
} satisfies Record<string, ExtensionSpec>;

/** An `access_log` list (HCM or admin): file, stdout and stderr loggers with text formats. */
export function parseAccessLogs(parent: Obj, key = "access_log"): AccessLogConfig[] {
  const out: AccessLogConfig[] = [];
  for (const entry of parent.objList(key)) {
    const resolved = resolveExtension(entry, LOGGERS, "access logger");
    entry.unsupported("filter");
    entry.done();
    if (resolved === null) continue;
    const { kind, body } = resolved;
    let path: string | undefined;
    if (kind === "file") path = body.require("path") ? body.str("path") : undefined;
    else path = kind === "stdout" ? "/dev/stdout" : "/dev/stderr";
    const format = readFormat(body);
    body.done();
    if (path !== undefined && format !== undefined) out.push({ path, format });
  }
  return out;
}

/** `format` (v2 / deprecated v3) or `log_format` text formats; undefined after an error. */
function readFormat(body: Obj): string | null | undefined {
  body.unsupported("json_format", "typed_json_format");
  const which = body.oneOf(["format", "log_format", "json_format", "typed_json_format"]);
  if (which === "format") return body.str("format");
  if (which !== "log_format") return null;
  const lf = body.obj("log_format");
  if (lf === null) return undefined;
  const kind = lf.oneOf(["text_format", "text_format_source", "json_format"], true);
  lf.unsupported("json_format", "omit_empty_values", "formatters", "json_format_options");
  lf.ignore("content_type");
  let format: string | undefined;
  if (kind === "text_format") format = lf.str(kind);
  if (kind === "text_format_source") {
    const src = lf.obj(kind);
    if (src !== null) {
      src.oneOf(["inline_string", "filename", "inline_bytes", "environment_variable"], true);
      src.unsupported("filename", "inline_bytes", "environment_variable");
      format = src.str("inline_string");
      src.done();
    }
  }
  lf.done();
  return format;
}
