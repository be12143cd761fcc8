/**
 * Differential test of our HTTP/1.1 codec against llhttp (node:http's parser): every raw request of
 * the corpus goes to a node:http server and to our downstream codec, every raw response to
 * `http.request` and to our upstream client, and the two must agree (verdict, and when accepted the
 * parsed message) except where ./known_differences.ts lists the case with its reason.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type RawCase, requestCorpus, responseCorpus } from "./corpus.js";
import { KNOWN_DIFFERENCES, type KnownDifference } from "./known_differences.js";
import {
  llhttpRequests,
  llhttpResponse,
  ourRequests,
  ourResponse,
  type RequestOutcome,
  type SeenResponse,
} from "./subjects.js";

/** Cases run this many at a time (each opens two servers and two connections). */
const CONCURRENCY = 32;

const REQUESTS = requestCorpus();
const RESPONSES = responseCorpus();

interface Pair<T> {
  ours: T;
  llhttp: T;
}

async function runAll<T>(cases: RawCase[], run: (c: RawCase) => Promise<T>): Promise<Map<string, T>> {
  const results = new Map<string, T>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const c = cases[next++] as RawCase;
      results.set(c.id, await run(c));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return results;
}

const requestSummary = (o: RequestOutcome): string => `${o.end}/${o.requests.length}`;
const responseSummary = (o: SeenResponse): string => (o.error === null ? `${o.status}` : `error ${o.error}`);

/** What is compared of a response: all of it, but the body of a failed one (cut at arbitrary points). */
const comparableResponse = (o: SeenResponse): Omit<SeenResponse, "detail"> => ({
  status: o.status,
  headers: o.headers,
  body: o.error === null ? o.body : "",
  trailers: o.trailers,
  error: o.error,
});

function knownFor(side: KnownDifference["side"], id: string): KnownDifference | undefined {
  return KNOWN_DIFFERENCES.find((d) => d.side === side && d.ids.includes(id));
}

/** The assertion shared by both sides: same result, or exactly the listed difference. */
function expectAgreement(
  side: KnownDifference["side"],
  id: string,
  same: boolean,
  summaries: Pair<string>,
  shown: Pair<unknown>,
): void {
  const known = knownFor(side, id);
  const detail = JSON.stringify(shown).slice(0, 2000);
  if (known === undefined) {
    expect(same, `${side} ${id}: ours and llhttp differ and the difference is not listed: ${detail}`).toBe(
      true,
    );
    return;
  }
  expect(same, `${side} ${id}: listed as a difference (${known.why}) but both now agree: remove it`).toBe(
    false,
  );
  expect(summaries, `${side} ${id}: the difference changed: ${detail}`).toEqual({
    ours: known.ours,
    llhttp: known.llhttp,
  });
}

describe("HTTP/1.1 requests: our downstream codec vs llhttp", () => {
  let results = new Map<string, Pair<RequestOutcome>>();
  beforeAll(async () => {
    results = await runAll(REQUESTS, async (c) => {
      const [ours, llhttp] = await Promise.all([ourRequests(c.bytes), llhttpRequests(c.bytes)]);
      return { ours, llhttp };
    });
  }, 60_000);

  it("the corpus has at least 300 requests, with unique ids", () => {
    expect(REQUESTS.length).toBeGreaterThanOrEqual(300);
    expect(new Set(REQUESTS.map((c) => c.id)).size).toBe(REQUESTS.length);
  });

  it.each(REQUESTS.map((c) => [c.id]))("%s", (id) => {
    const r = results.get(id) as Pair<RequestOutcome>;
    // Neither side may leave a client hanging on bytes it has all received.
    expect(r.ours.end, "ours hung").not.toBe("hung");
    expect(r.llhttp.end, "llhttp hung").not.toBe("hung");
    const same =
      r.ours.end === r.llhttp.end && JSON.stringify(r.ours.requests) === JSON.stringify(r.llhttp.requests);
    expectAgreement(
      "request",
      id,
      same,
      { ours: requestSummary(r.ours), llhttp: requestSummary(r.llhttp) },
      r,
    );
  });
});

describe("HTTP/1.1 responses: our upstream client vs llhttp", () => {
  let results = new Map<string, Pair<SeenResponse>>();
  beforeAll(async () => {
    results = await runAll(RESPONSES, async (c) => {
      const [ours, llhttp] = await Promise.all([
        ourResponse(c.bytes, c.method),
        llhttpResponse(c.bytes, c.method),
      ]);
      return { ours, llhttp };
    });
  }, 60_000);

  it("the corpus has at least 200 responses, with unique ids", () => {
    expect(RESPONSES.length).toBeGreaterThanOrEqual(200);
    expect(new Set(RESPONSES.map((c) => c.id)).size).toBe(RESPONSES.length);
  });

  it.each(RESPONSES.map((c) => [c.id]))("%s", (id) => {
    const r = results.get(id) as Pair<SeenResponse>;
    expect(r.ours.detail, "ours hung").not.toBe("hung");
    expect(r.llhttp.detail, "llhttp hung").not.toBe("hung");
    const same = JSON.stringify(comparableResponse(r.ours)) === JSON.stringify(comparableResponse(r.llhttp));
    expectAgreement(
      "response",
      id,
      same,
      { ours: responseSummary(r.ours), llhttp: responseSummary(r.llhttp) },
      r,
    );
  });
});

describe("the known-differences table", () => {
  it("names only cases of the corpus, each once", () => {
    const ids = {
      request: new Set(REQUESTS.map((c) => c.id)),
      response: new Set(RESPONSES.map((c) => c.id)),
    };
    const seen = new Set<string>();
    for (const d of KNOWN_DIFFERENCES) {
      for (const id of d.ids) {
        expect(ids[d.side].has(id), `${d.side} ${id} is not in the corpus`).toBe(true);
        expect(seen.has(`${d.side} ${id}`), `${d.side} ${id} is listed twice`).toBe(false);
        seen.add(`${d.side} ${id}`);
      }
    }
  });
});
