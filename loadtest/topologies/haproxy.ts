/**
 * HAProxy 2.x configs for the benchmarks (nbthread 1, maxconn 8000, default
 * `http-reuse safe`, round robin). A plain bind also accepts h2c prior knowledge (HAProxy sniffs the
 * preface), so the single-hop config serves h2load too.
 */
const GLOBAL = `global
    nbthread 1
    maxconn 8000
defaults
    mode http
    maxconn 8000
    timeout connect 5s
    timeout client  30s
    timeout server  30s
    timeout http-keep-alive 30s
    timeout tunnel  120s
    option http-keep-alive
    http-reuse safe
`;

/** Single hop; `h2` = speak h2c to the upstreams (`proto h2`). */
export function haproxyConfig(port: number, upstreams: number[], h2: boolean): string {
  const servers = upstreams
    .map((p, i) => `    server s${i + 1} 127.0.0.1:${p}${h2 ? " proto h2" : ""}`)
    .join("\n");
  return `${GLOBAL}
frontend fe
    bind 127.0.0.1:${port}
    default_backend be
backend be
    balance roundrobin
${servers}
`;
}
