/**
 * Property-based fuzzing of the downstream HTTP/1.1 codec (H1Connection, reached through the
 * differential tests' adapter lib/test/http1/subjects.ts), beside ./properties.test.ts (which covers
 * the upstream head serializer, header mutation and random request lines through a proxy):
 * - valid requests (pipelined, with content-length and chunked bodies, chunk extensions, trailers),
 *   serialised and cut at random points, parse to exactly what was serialised, however cut;
 * - chunked bodies of random bytes in random chunk sizes round-trip byte for byte;
 * - random bytes and random mutations of valid requests never throw and never hang the codec;
 * - valid requests parse the same in our codec and in llhttp (node:http);
 * - the same for responses through the upstream client (H1Client): content-length, chunked and
 *   until-close bodies, HEAD, 204 and 304, cut anywhere; random bytes never throw nor hang it.
 *
 * Seeded and bounded for CI (a few seconds). For a longer run:
 *   ECHOMESH_FUZZ_RUNS=20000 ECHOMESH_FUZZ_SEED=$RANDOM npx vitest run --project unit proxy/test/http/fuzz_h1.test.ts
 * (ECHOMESH_FUZZ_RUNS: runs of each in-memory property, the socket-based one runs a tenth of it;
 * a failure prints its seed and path, which `fc.assert` replays.)
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  llhttpRequests,
  llhttpResponse,
  ourRequests,
  ourRequestsInPieces,
  ourResponse,
  ourResponseInPieces,
  type RequestOutcome,
  type SeenRequest,
  type SeenResponse,
} from "../../../lib/test/http1/subjects.js";

const RUNS = Math.floor(Number(process.env.ECHOMESH_FUZZ_RUNS ?? 200));
const SEED = Number(process.env.ECHOMESH_FUZZ_SEED ?? 20_261_201);
/** The longer run needs more than the default 30 s a test gets. */
const TIMEOUT_MS = Math.max(30_000, RUNS * 20);

const bin = (s: string): Buffer => Buffer.from(s, "latin1");

// --- generators ---

const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,16}$/);
/** Header names that say nothing about framing, the connection or the host. */
const RESERVED = new Set([
  "content-length",
  "transfer-encoding",
  "connection",
  "upgrade",
  "expect",
  "host",
  "te",
  "keep-alive",
]);
const fieldName = token.filter((n) => !RESERVED.has(n.toLowerCase()));
/** A field value without surrounding whitespace: visible ASCII, latin1 bytes, inner spaces and tabs. */
const fieldValue = fc
  .string({
    maxLength: 24,
    unit: fc.oneof(
      { arbitrary: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), weight: 8 },
      { arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)), weight: 1 },
      { arbitrary: fc.constantFrom(" ", "\t"), weight: 1 },
    ),
  })
  .map((v) => v.trim());
/** An origin-form target. */
const target = fc
  .array(fc.stringMatching(/^[A-Za-z0-9\-._~!$&'()*+,;=:@%]{0,8}$/), { minLength: 1, maxLength: 4 })
  .chain((segments) =>
    fc
      .option(fc.stringMatching(/^[A-Za-z0-9\-._~=&%/?]{0,12}$/), { nil: undefined })
      .map((query) => `/${segments.join("/")}${query === undefined ? "" : `?${query}`}`),
  );
const chunkExtension = fc.option(
  fc
    .tuple(token, fc.option(token, { nil: undefined }))
    .map(([n, v]) => (v === undefined ? `;${n}` : `;${n}=${v}`)),
  { nil: undefined },
);

type Framing =
  | { kind: "none" }
  | { kind: "length"; body: Buffer }
  | {
      kind: "chunked";
      chunks: Array<{ data: Buffer; ext: string | undefined; sizeText: (n: number) => string }>;
      trailers: Array<[string, string]>;
    };

interface Model {
  method: string;
  target: string;
  headers: Array<[string, string]>;
  /** How the headers are written: spacing around the value (both are OWS the parser drops). */
  spacing: Array<[string, string]>;
  framing: Framing;
}

const sizeText = fc.constantFrom(
  (n: number) => n.toString(16),
  (n: number) => n.toString(16).toUpperCase(),
  (n: number) => `00${n.toString(16)}`,
);
const body = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));
const framing: fc.Arbitrary<Framing> = fc.oneof(
  fc.constant<Framing>({ kind: "none" }),
  body(2048).map((b): Framing => ({ kind: "length", body: b })),
  fc
    .tuple(
      fc.array(fc.record({ data: body(300).filter((b) => b.length > 0), ext: chunkExtension, sizeText }), {
        maxLength: 6,
      }),
      fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 3 }),
    )
    .map(([chunks, trailers]): Framing => ({ kind: "chunked", chunks, trailers })),
);

const request: fc.Arbitrary<Model> = fc
  .record({
    method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"),
    target,
    headers: fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 8 }),
    framing,
  })
  .chain((m) =>
    fc
      .array(fc.tuple(fc.constantFrom("", " ", "\t", "  "), fc.constantFrom("", " ", "\t")), {
        minLength: m.headers.length + 1,
        maxLength: m.headers.length + 1,
      })
      .map((spacing) => ({ ...m, spacing })),
  );

function serialise(m: Model): Buffer {
  const lines = [`${m.method} ${m.target} HTTP/1.1`];
  const all: Array<[string, string]> = [["Host", "a.test"], ...m.headers];
  all.forEach(([n, v], i) => {
    const [before, after] = m.spacing[i] ?? ["", ""];
    lines.push(`${n}:${before}${v}${after}`);
  });
  const f = m.framing;
  const parts: Buffer[] = [];
  if (f.kind === "length") lines.push(`Content-Length: ${f.body.length}`);
  if (f.kind === "chunked") lines.push("Transfer-Encoding: chunked");
  parts.push(bin(`${lines.join("\r\n")}\r\n\r\n`));
  if (f.kind === "length") parts.push(f.body);
  if (f.kind === "chunked") {
    for (const c of f.chunks)
      parts.push(bin(`${c.sizeText(c.data.length)}${c.ext ?? ""}\r\n`), c.data, bin("\r\n"));
    parts.push(bin(`0\r\n${f.trailers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`));
  }
  return Buffer.concat(parts);
}

/** What the codec must hand over for `m`. */
function expected(m: Model): SeenRequest {
  const f = m.framing;
  return {
    method: m.method,
    target: m.target,
    version: "1.1",
    headers: [
      "Host",
      "a.test",
      ...m.headers.flat(),
      ...(f.kind === "length" ? ["Content-Length", String(f.body.length)] : []),
      ...(f.kind === "chunked" ? ["Transfer-Encoding", "chunked"] : []),
    ],
    body:
      f.kind === "length"
        ? f.body.toString("latin1")
        : f.kind === "chunked"
          ? Buffer.concat(f.chunks.map((c) => c.data)).toString("latin1")
          : "",
    trailers: f.kind === "chunked" ? f.trailers.flatMap(([n, v]) => [n.toLowerCase(), v]) : [],
    keepAlive: true,
  };
}

/** `bytes` cut at the given points (fractions of its length, any order, repeats allowed). */
function cut(bytes: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => Math.floor(p * bytes.length)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const p of at) {
    pieces.push(bytes.subarray(from, p));
    from = p;
  }
  pieces.push(bytes.subarray(from));
  return pieces.filter((p) => p.length > 0);
}

const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });

const SETTLED = /^(complete|incomplete|upgrade|rejected \d{3})$/;

describe("HTTP/1.1 request codec, fuzzed", () => {
  it(
    "valid pipelined requests, cut anywhere, parse to exactly what was serialised",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 3 }), cuts, async (models, points) => {
          const bytes = Buffer.concat(models.map(serialise));
          const want: RequestOutcome = { requests: models.map(expected), end: "complete", detail: "" };
          const whole = await ourRequestsInPieces([bytes]);
          expect({ ...whole, detail: "" }).toEqual(want);
          const pieces = await ourRequestsInPieces(cut(bytes, points));
          expect({ ...pieces, detail: "" }).toEqual(want);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    "chunked bodies of random bytes in random chunk sizes round-trip byte for byte, one byte per read too",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          body(4096),
          fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 10 }),
          chunkExtension,
          async (data, sizes, ext) => {
            const chunks: Buffer[] = [];
            for (let at = 0, i = 0; at < data.length; i++) {
              const n = sizes[i % sizes.length] as number;
              chunks.push(data.subarray(at, at + n));
              at += n;
            }
            const framed = Buffer.concat([
              bin("POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
              ...chunks.flatMap((c) => [bin(`${c.length.toString(16)}${ext ?? ""}\r\n`), c, bin("\r\n")]),
              bin("0\r\nx-t: 1\r\n\r\n"),
            ]);
            const bytewise =
              data.length <= 256
                ? [...framed].map((b) => Buffer.from([b]))
                : cut(
                    framed,
                    sizes.map((s) => s / 701),
                  );
            for (const pieces of [[framed], bytewise]) {
              const out = await ourRequestsInPieces(pieces);
              expect(out.end).toBe("complete");
              expect(out.requests).toHaveLength(1);
              expect(Buffer.from(out.requests[0]?.body ?? "", "latin1").equals(data)).toBe(true);
              expect(out.requests[0]?.trailers).toEqual(["x-t", "1"]);
            }
          },
        ),
        { seed: SEED, numRuns: Math.max(20, Math.floor(RUNS / 3)) },
      );
    },
    TIMEOUT_MS,
  );

  it(
    "random bytes and random mutations of valid requests never throw and never hang",
    async () => {
      const mutation = fc.record({
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        op: fc.constantFrom("flip", "insert", "delete"),
        byte: fc.oneof(
          fc.constantFrom(0, 9, 10, 13, 32, 0x3a, 0x3b, 0x2c, 0x7f, 0xff),
          fc.integer({ min: 0, max: 255 }),
        ),
      });
      const input = fc.oneof(
        fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
        fc.tuple(request, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([m, ops]) => {
          const bytes = [...serialise(m)];
          for (const op of ops) {
            const i = Math.floor(op.at * bytes.length);
            if (op.op === "flip") bytes[i] = op.byte;
            else if (op.op === "insert") bytes.splice(i, 0, op.byte);
            else bytes.splice(i, 1);
          }
          return Buffer.from(bytes);
        }),
      );
      await fc.assert(
        fc.asyncProperty(input, cuts, async (bytes, points) => {
          const out = await ourRequestsInPieces(cut(bytes, points));
          expect(out.end).toMatch(SETTLED);
        }),
        { seed: SEED, numRuns: RUNS * 2 },
      );
    },
    TIMEOUT_MS,
  );

  it(
    "valid requests parse the same in our codec and in llhttp (real sockets)",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 2 }), async (models) => {
          const bytes = Buffer.concat(models.map(serialise));
          const [ours, llhttp] = await Promise.all([ourRequests(bytes), llhttpRequests(bytes)]);
          expect({ end: ours.end, requests: ours.requests }).toEqual({
            end: llhttp.end,
            requests: llhttp.requests,
          });
        }),
        { seed: SEED, numRuns: Math.max(10, Math.floor(RUNS / 10)) },
      );
    },
    TIMEOUT_MS,
  );
});

// --- responses (the upstream client) ---

interface ResponseModel {
  method: "GET" | "HEAD";
  status: number;
  reason: string;
  headers: Array<[string, string]>;
  framing: Framing | { kind: "close"; body: Buffer };
}

const response: fc.Arbitrary<ResponseModel> = fc
  .record({
    method: fc.constantFrom<"GET" | "HEAD">("GET", "GET", "HEAD"),
    status: fc.constantFrom(200, 201, 204, 206, 301, 304, 404, 500, 503),
    reason: fc.constantFrom("", "OK", "Some Reason", "x"),
    headers: fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 8 }),
    framing: fc.oneof(
      framing,
      body(1024).map((b) => ({ kind: "close" as const, body: b })),
    ),
  })
  // A 204 or a 304 has no body: framed by nothing (RFC 9110 §15.3.5, §15.4.5).
  .map((m) => (m.status === 204 || m.status === 304 ? { ...m, framing: { kind: "none" as const } } : m));

function serialiseResponse(m: ResponseModel): Buffer {
  const lines = [
    `HTTP/1.1 ${m.status}${m.reason === "" ? "" : ` ${m.reason}`}`,
    ...m.headers.map(([n, v]) => `${n}: ${v}`),
  ];
  const f = m.framing;
  if (f.kind === "length") lines.push(`Content-Length: ${f.body.length}`);
  if (f.kind === "chunked") lines.push("Transfer-Encoding: chunked");
  if (f.kind === "close" || f.kind === "none") lines.push("Connection: close");
  const parts = [bin(`${lines.join("\r\n")}\r\n\r\n`)];
  if (m.method === "HEAD") return parts[0] as Buffer;
  if (f.kind === "length" || f.kind === "close") parts.push(f.body);
  if (f.kind === "chunked") {
    for (const c of f.chunks)
      parts.push(bin(`${c.sizeText(c.data.length)}${c.ext ?? ""}\r\n`), c.data, bin("\r\n"));
    parts.push(bin(`0\r\n${f.trailers.map(([n, v]) => `${n}: ${v}\r\n`).join("")}\r\n`));
  }
  return Buffer.concat(parts);
}

/** What the client hands over: names lower-cased, hop-by-hop removed, no body for HEAD/204/304. */
function expectedResponse(m: ResponseModel): Omit<SeenResponse, "detail"> {
  const f = m.framing;
  const bodyless = m.method === "HEAD" || m.status === 204 || m.status === 304;
  const data =
    f.kind === "length" || f.kind === "close"
      ? f.body
      : f.kind === "chunked"
        ? Buffer.concat(f.chunks.map((c) => c.data))
        : Buffer.alloc(0);
  return {
    status: m.status,
    headers: [
      ...m.headers.flatMap(([n, v]) => [n.toLowerCase(), v]),
      ...(f.kind === "length" ? ["content-length", String(f.body.length)] : []),
    ],
    body: bodyless ? "" : data.toString("latin1"),
    trailers: f.kind === "chunked" && !bodyless ? f.trailers.flatMap(([n, v]) => [n.toLowerCase(), v]) : [],
    error: null,
  };
}

const withoutDetail = ({ detail: _detail, ...rest }: SeenResponse): Omit<SeenResponse, "detail"> => rest;

describe("HTTP/1.1 response parsing (upstream client), fuzzed", () => {
  it(
    "valid responses, cut anywhere, are handed over exactly as serialised",
    async () => {
      await fc.assert(
        fc.asyncProperty(response, cuts, async (m, points) => {
          const bytes = serialiseResponse(m);
          const want = expectedResponse(m);
          expect(withoutDetail(await ourResponseInPieces([bytes], m.method))).toEqual(want);
          expect(withoutDetail(await ourResponseInPieces(cut(bytes, points), m.method))).toEqual(want);
        }),
        { seed: SEED, numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    "random bytes and mutations of valid responses never throw and never hang",
    async () => {
      const input = fc.oneof(
        fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
        fc
          .tuple(
            response,
            fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })), {
              minLength: 1,
              maxLength: 4,
            }),
          )
          .map(([m, flips]) => {
            const bytes = serialiseResponse(m);
            for (const [at, byte] of flips) bytes[Math.floor(at * (bytes.length - 1))] = byte;
            return bytes;
          }),
      );
      await fc.assert(
        fc.asyncProperty(input, cuts, async (bytes, points) => {
          const out = await ourResponseInPieces(cut(bytes, points));
          expect(out.detail).not.toBe("hung");
        }),
        { seed: SEED, numRuns: RUNS * 2 },
      );
    },
    TIMEOUT_MS,
  );

  it(
    "valid responses parse the same in our client and in llhttp (real sockets)",
    async () => {
      await fc.assert(
        fc.asyncProperty(response, async (m) => {
          const bytes = serialiseResponse(m);
          const [ours, llhttp] = await Promise.all([
            ourResponse(bytes, m.method),
            llhttpResponse(bytes, m.method),
          ]);
          expect(withoutDetail(ours)).toEqual(withoutDetail(llhttp));
        }),
        { seed: SEED, numRuns: Math.max(10, Math.floor(RUNS / 10)) },
      );
    },
    TIMEOUT_MS,
  );
});
