/**
 * nginx configs for the benchmarks: 1 worker, upstream keepalive 64,
 * HTTP/1.1 upstream (nginx has no HTTP/2 upstream for proxy_pass), an h2c (`listen ... http2`) server,
 * and a /ws location that passes the upgrade.
 */
export function nginxConfig(dir: string, port: number, h2cPort: number, upstreams: number[]): string {
  const servers = upstreams.map((p) => `    server 127.0.0.1:${p};`).join("\n");
  const locations = `
    location / {
      proxy_pass http://echo;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }
    location /ws {
      proxy_pass http://echo;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 120s;
    }`;
  return `worker_processes 1;
worker_rlimit_nofile 19000;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx.error.log warn;
daemon off;
master_process on;
events { worker_connections 12000; }   # 5,000 WebSockets need 10,000 connections
http {
  access_log off;
  client_max_body_size 64m;
  client_body_buffer_size 128k;   # keep the 64 KiB POST scenario in memory (default 16k spills to disk)
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream echo {
${servers}
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 1000000;${locations}
  }
  server {
    listen 127.0.0.1:${h2cPort} http2;
    keepalive_requests 1000000;${locations}
  }
}
`;
}
