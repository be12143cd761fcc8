/** Caddyfiles for the benchmarks (admin off, round robin, h1 + h2c listeners). */
export function caddyConfig(port: number, upstreams: number[], h2up: boolean): string {
  const ups = upstreams.map((p) => `127.0.0.1:${p}`).join(" ");
  const transport = h2up
    ? `
		transport http {
			versions h2c
		}`
    : `
		transport http {
			keepalive 2m
			keepalive_idle_conns_per_host 64
		}`;
  return `{
	admin off
	auto_https off
	servers {
		protocols h1 h2c
	}
}
http://:${port} {
	bind 127.0.0.1
	reverse_proxy ${ups} {
		lb_policy round_robin${transport}
	}
}
`;
}
