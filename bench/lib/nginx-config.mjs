// nginx configurations for the two nginx systems. Both run in the foreground with their own
// prefix, pid file, logs and temp paths, so nothing touches /etc/nginx or /var.

/** `workers`: worker_processes, a number or "auto" (one per core). */
function commonHead(prefix, workers = "auto") {
  // Started as root, nginx would switch its workers to "nobody", who cannot enter the bench's
  // private temp directory; the workers keep the bench's own user instead.
  const user = process.getuid?.() === 0 ? "user root root;\n" : "";
  return `${user}daemon off;
master_process on;
worker_processes ${workers};
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  keepalive_timeout 65;
  keepalive_requests 100000;
  client_body_temp_path ${prefix}/client-body;
  proxy_temp_path ${prefix}/proxy-temp;
  fastcgi_temp_path ${prefix}/fastcgi-temp;
  uwsgi_temp_path ${prefix}/uwsgi-temp;
  scgi_temp_path ${prefix}/scgi-temp;
`;
}

/**
 * The cache of ocadotechnology/mirror-operator (mirroroperator/registrymirror.py): the same
 * proxy_cache_path, proxy_cache_valid and headers, with TLS, the JSON access log, the
 * health-check location and the masquerade rewrite left out (loopback HTTP here, like the
 * other systems). Like mirror-operator it sets no proxy_cache_lock, so concurrent misses of
 * one blob each go upstream; and it caches tags for 7 days without asking upstream again.
 */
export function nginxProxyCacheConfig({ prefix, port, upstreamHostPort, cacheDirectory, workers }) {
  return `${commonHead(prefix, workers)}
  proxy_cache_path ${cacheDirectory} levels=1:2 inactive=7d use_temp_path=off keys_zone=the_zone:10m max_size=50g;
  server {
    listen 127.0.0.1:${port};
    server_name localhost;
    location / {
      limit_except HEAD GET OPTIONS {
        deny all;
      }
      proxy_pass http://${upstreamHostPort};
      proxy_cache the_zone;
      proxy_cache_valid 7d;
      proxy_set_header Host ${upstreamHostPort};
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`;
}

/**
 * The ceiling: the same bytes as files under ROOT/v2/..., served by nginx with sendfile.
 * Manifests get their media type and Docker-Content-Digest so that skopeo can pull.
 */
export function nginxStaticConfig({ prefix, port, root, manifestMediaType, tags, workers }) {
  const tagLocations = tags
    .map(
      ({ repository, tag, digest }) => `
    location = /v2/${repository}/manifests/${tag} {
      default_type ${manifestMediaType};
      add_header Docker-Content-Digest ${digest};
    }`,
    )
    .join("");
  return `${commonHead(prefix, workers)}
  types { }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    server_name localhost;
    root ${root};
    location = /v2/ {
      default_type application/json;
      return 200 '{}';
    }
    location ~ "^/v2/.+/manifests/(sha256:[a-f0-9]{64})$" {
      default_type ${manifestMediaType};
      add_header Docker-Content-Digest $1;
    }
    location ~ "^/v2/.+/blobs/(sha256:[a-f0-9]{64})$" {
      add_header Docker-Content-Digest $1;
    }${tagLocations}
  }
}
`;
}
