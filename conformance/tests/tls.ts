/**
 * TLS: the front proxy terminating TLS (its certificate, round robin over HTTPS, ALPN h2,
 * x-forwarded-proto), mutual TLS on the mesh's HTTP/2 hop, and a listener that requires client
 * certificates refusing the wrong ones. Certificates come from a test CA made at test time
 * (`prepareTls` in harness/topologies.ts); the TLS listeners are on TLS_PORT beside each proxy's plain
 * one, reached where the driver publishes them (`topo.listener(proxy, TLS_PORT)`: the node's own
 * address in the process driver, a mapped port in the container driver). The test always sends the
 * certificate's name as SNI and checks it, whatever address it connects to.
 */
import { expect } from "../harness/assert.js";
import {
  counts,
  h2TlsRequests,
  header,
  httpsPool,
  httpsRequest,
  request,
  type TlsClient,
} from "../harness/client.js";
import { hasEnvoyAdmin, stat } from "../harness/stats.js";
import { TLS_FILES, TLS_NAMES, TLS_PORT } from "../harness/topologies.js";
import type { CheckContext, ConformanceTest, Endpoint, RunningTopology } from "../harness/types.js";

/** Where the test reaches a proxy's TLS listener (configured on TLS_PORT; each driver says where). */
const tlsEndpoint = (topo: RunningTopology, proxy?: string): Endpoint => topo.listener(proxy, TLS_PORT);

/** A client of the front's HTTPS listener: trusts the test CA, expects front.echomesh.test. */
const FRONT_CLIENT: TlsClient = { ca: TLS_FILES.ca, servername: TLS_NAMES.front };
/** A client of a sidecar's TLS listener (SNI and name sidecar.echomesh.test), presenting `cert`. */
const sidecarClient = (cert?: TlsClient["cert"]): TlsClient => ({
  ca: TLS_FILES.ca,
  servername: TLS_NAMES.sidecar,
  ...(cert === undefined ? {} : { cert }),
});

/** What an HTTPS request came to: `status <code> from <instance>`, or the error that ended it. */
async function outcome(ep: Endpoint, tls: TlsClient): Promise<string> {
  try {
    const r = await httpsRequest(ep, "/", tls);
    return `status ${r.status} from ${header(r, "x-echo-instance") ?? "the proxy"}`;
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
}

/** Envoy's counter `name` on `proxy`'s admin, measured, expected above 0. */
async function expectCounted({ topo, measure }: CheckContext, proxy: string, name: string): Promise<void> {
  const n = await stat(topo.admin(proxy), name);
  measure(`${proxy}.${name}`, n);
  expect(n > 0, `${proxy}: ${name} is ${n}; expected > 0`);
}

interface EchoJson {
  headers?: Record<string, string[]>;
}

/** The values of one request header as the echo saw them (names compared case-insensitively). */
function seen(json: EchoJson, name: string): string[] {
  return Object.entries(json.headers ?? {}).flatMap(([k, v]) => (k.toLowerCase() === name ? v : []));
}

export const tlsTests: ConformanceTest[] = [
  {
    id: "tls-front-round-robin",
    description: "HTTPS to the front: its certificate verifies, and requests rotate over service1/service2",
    criterion:
      "10 GETs over HTTPS, each on a new TLS connection, then 10 on one keep-alive TLS connection: the " +
      "server certificate chains to the test CA and carries front.echomesh.test, every answer is 200 from " +
      "an echo, and each series gives service1 and service2 5 each",
    feature: "tls",
    topology: "tls-front",
    async check({ topo, measure }) {
      const ep = tlsEndpoint(topo);
      const fresh: string[] = [];
      let peerSan = "";
      for (let i = 0; i < 10; i++) {
        const r = await httpsRequest(ep, "/", FRONT_CLIENT);
        expect(r.status === 200, `GET / over HTTPS answered ${r.status}`);
        peerSan = r.peerSan;
        fresh.push(header(r, "x-echo-instance") ?? `status:${r.status}`);
      }
      const agent = httpsPool(FRONT_CLIENT);
      const reused: string[] = [];
      try {
        for (let i = 0; i < 10; i++) {
          const r = await httpsRequest(ep, "/", FRONT_CLIENT, { agent });
          expect(r.status === 200, `GET / over keep-alive HTTPS answered ${r.status}`);
          reused.push(header(r, "x-echo-instance") ?? `status:${r.status}`);
        }
      } finally {
        agent.destroy();
      }
      measure("peerSan", peerSan);
      measure("fresh", counts(fresh));
      measure("keepAlive", counts(reused));
      expect(peerSan.includes(`DNS:${TLS_NAMES.front}`), `the front's certificate names ${peerSan}`);
      for (const [what, seen] of [
        ["new connections", counts(fresh)],
        ["one connection", counts(reused)],
      ] as const)
        expect(
          seen.service1 === 5 && seen.service2 === 5,
          `${what}: answered by ${JSON.stringify(seen)}; expected service1 5, service2 5`,
        );
    },
  },
  {
    id: "tls-front-alpn-h2",
    description:
      "a client offering ALPN h2 gets HTTP/2 over TLS from the front, one offering http/1.1 gets HTTP/1.1",
    criterion:
      "over one TLS connection offering only h2, the front chooses h2 and 4 GETs answer 200 from the echos " +
      "(which see HTTP/1.1, the cluster's protocol); a client offering only http/1.1 gets http/1.1 and a 200; " +
      "where there is Envoy's admin, http.ingress_https counted TLS and HTTP/2 downstream connections",
    feature: "tls",
    topology: "tls-front",
    async check(ctx) {
      const { topo, measure } = ctx;
      const ep = tlsEndpoint(topo);
      const h2 = await h2TlsRequests(ep, "/", 4, FRONT_CLIENT);
      const seen = h2.replies.map(
        (r) => `${r.status} ${r.headers["x-echo-instance"]} ${r.headers["x-echo-protocol"]}`,
      );
      measure("h2.alpn", h2.alpn);
      measure("h2.replies", counts(seen));
      expect(h2.alpn === "h2", `offering h2, the front chose ${JSON.stringify(h2.alpn)}`);
      expect(
        h2.replies.every((r) => r.status === 200 && r.headers["x-echo-protocol"] === "HTTP/1.1"),
        `over h2: ${JSON.stringify(counts(seen))}; expected 200 from an echo that saw HTTP/1.1`,
      );
      const h1 = await httpsRequest(ep, "/", FRONT_CLIENT);
      measure("h1.alpn", h1.alpn);
      expect(h1.alpn === "http/1.1", `offering http/1.1, the front chose ${JSON.stringify(h1.alpn)}`);
      expect(h1.status === 200, `HTTPS/1.1 GET / answered ${h1.status}`);
      if (!hasEnvoyAdmin(topo)) return;
      await expectCounted(ctx, "front", "http.ingress_https.downstream_cx_ssl_total");
      await expectCounted(ctx, "front", "http.ingress_https.downstream_cx_http2_total");
    },
  },
  {
    id: "tls-front-forwarded-proto",
    description: "a request that came over HTTPS reaches the echo with x-forwarded-proto: https",
    criterion:
      "GET /?format=json over HTTPS: the echo saw exactly one x-forwarded-proto, `https` (the same " +
      "request over the plain listener is measured for comparison)",
    feature: "tls",
    topology: "tls-front",
    async check({ topo, measure }) {
      const r = await httpsRequest(tlsEndpoint(topo), "/?format=json", FRONT_CLIENT);
      expect(header(r, "x-echo-instance") !== undefined, `the front answered ${r.status} itself`);
      const proto = seen(JSON.parse(r.text) as EchoJson, "x-forwarded-proto");
      const plain = await request(topo.listener(), "/?format=json");
      measure("x-forwarded-proto", proto);
      measure("plain.x-forwarded-proto", seen(JSON.parse(plain.text) as EchoJson, "x-forwarded-proto"));
      expect(proto.join() === "https", `over HTTPS the echo saw x-forwarded-proto ${JSON.stringify(proto)}`);
    },
  },
  {
    id: "tls-mesh-mtls",
    description: "requests cross the mesh's h2 hop over mutual TLS and reach the echos",
    criterion:
      "6 GETs to the front answer 200 from service1 and service2, whose echos saw HTTP/1.1 (from their " +
      "sidecars); where there is Envoy's admin, the front's cluster counted TLS handshakes and HTTP/2 " +
      "connections and each sidecar's TLS listener (http.ingress_https) counted TLS and HTTP/2 connections",
    feature: "tls",
    topology: "tls-mesh",
    async check(ctx) {
      const { topo, measure } = ctx;
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await request(topo.listener(), "/");
        seen.push(`${r.status} ${header(r, "x-echo-instance")} ${header(r, "x-echo-protocol")}`);
      }
      const c = counts(seen);
      measure("answers", c);
      expect(
        c["200 service1 HTTP/1.1"] === 3 && c["200 service2 HTTP/1.1"] === 3,
        `answers ${JSON.stringify(c)}; expected 3 each from service1 and service2, HTTP/1.1 at the echo`,
      );
      if (!hasEnvoyAdmin(topo)) return;
      await expectCounted(ctx, "front", "cluster.myservice.ssl.handshake");
      await expectCounted(ctx, "front", "cluster.myservice.upstream_cx_http2_total");
      for (const sidecar of ["sidecar1", "sidecar2"]) {
        await expectCounted(ctx, sidecar, "http.ingress_https.downstream_cx_ssl_total");
        await expectCounted(ctx, sidecar, "http.ingress_https.downstream_cx_http2_total");
      }
    },
  },
  {
    id: "tls-client-cert-refused",
    description:
      "a sidecar's TLS listener (require_client_certificate) refuses a client certificate of another CA and a client without one",
    criterion:
      "straight to sidecar1's TLS listener: with the front's certificate (the test CA) GET / answers 200 " +
      "from service1; with a certificate for the same name from another CA, and with no certificate, the " +
      "handshake fails and no HTTP answer comes",
    feature: "tls",
    topology: "tls-mesh",
    async check({ topo, measure }) {
      const ep = tlsEndpoint(topo, "sidecar1");
      const good = await outcome(ep, sidecarClient(TLS_FILES.front));
      const otherCa = await outcome(ep, sidecarClient(TLS_FILES.intruder));
      const none = await outcome(ep, sidecarClient());
      measure("testCaCert", good);
      measure("otherCaCert", otherCa);
      measure("noCert", none);
      expect(good === "status 200 from service1", `with the test CA's certificate: ${good}`);
      expect(otherCa.startsWith("refused"), `with another CA's certificate: ${otherCa}`);
      expect(none.startsWith("refused"), `without a client certificate: ${none}`);
    },
  },
  {
    id: "tls-upstream-san-mismatch",
    description: "a cluster that expects a SAN the upstream's certificate lacks gets no answer from it: 503",
    criterion:
      "GET /wrong-san (its cluster verifies elsewhere.echomesh.test; the sidecars present " +
      "sidecar.echomesh.test) answers 503 from the front itself, and / still answers 200 from an echo; " +
      "where there is Envoy's admin, cluster.wrong-san.ssl.fail_verify_san counted it",
    feature: "tls",
    topology: "tls-mesh",
    async check(ctx) {
      const { topo, measure } = ctx;
      const wrong = await request(topo.listener(), "/wrong-san");
      const right = await request(topo.listener(), "/");
      measure("wrongSan", `${wrong.status} ${header(wrong, "x-echo-instance") ?? "the proxy"}`);
      measure("body", wrong.text.slice(0, 200));
      expect(
        wrong.status === 503 && header(wrong, "x-echo-instance") === undefined,
        `GET /wrong-san answered ${wrong.status} from ${header(wrong, "x-echo-instance") ?? "the proxy"}`,
      );
      expect(right.status === 200, `GET / answered ${right.status}`);
      if (hasEnvoyAdmin(topo)) await expectCounted(ctx, "front", "cluster.wrong-san.ssl.fail_verify_san");
    },
  },
];
