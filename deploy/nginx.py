"""Render deploy/nginx.conf.template into the run directory, then run nginx in the foreground.

The ``nginx`` process of deploy/Procfile. It needs only Debian's nginx package and writes only
under RUN_DIR (pid file, temp files), so it runs as any user. Environment:

  LISTEN            address nginx listens on (default 127.0.0.1:8000; e.g. 0.0.0.0:80)
  RUN_DIR           run directory (default var/run); the web and stream sockets live there too
  WEB_UPSTREAMS     comma-separated web servers (default unix:$RUN_DIR/web.sock; e.g. 10.0.0.11:8001,...)
  STREAM_UPSTREAMS  comma-separated stream servers (default unix:$RUN_DIR/stream.sock)
  NGINX_WORKERS     worker processes (default auto: one per CPU)
  NGINX_WORKER_CONNECTIONS  connections per worker (default 4096; an open stream takes two)
  NGINX_ACCESS_LOG  an access log path, or "/dev/stdout" (default off)
  NGINX_STREAM_TIMEOUT      how long a stream may stay silent (default 1h; heartbeats come every 15 s)
  NGINX_TRUST_FORWARDED_PROTO  "true" behind a load balancer that terminates TLS (default false)

``python3 deploy/nginx.py --check`` renders and tests the configuration (``nginx -t``) instead.
"""

import os
import shutil
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"


def _servers(value: str) -> str:
    return "\n".join(f"        server {address.strip()};" for address in value.split(",") if address.strip())


def render(env: dict[str, str], run_dir: Path) -> str:
    """The configuration for ``env``; ``{{ name }}`` placeholders are filled in, nothing else."""
    connections = int(env.get("NGINX_WORKER_CONNECTIONS") or 4096)
    values = {
        "run_dir": str(run_dir),
        "listen": env.get("LISTEN") or "127.0.0.1:8000",
        "web_servers": _servers(env.get("WEB_UPSTREAMS") or f"unix:{run_dir / 'web.sock'}"),
        "stream_servers": _servers(env.get("STREAM_UPSTREAMS") or f"unix:{run_dir / 'stream.sock'}"),
        "worker_processes": env.get("NGINX_WORKERS") or "auto",
        "worker_connections": str(connections),
        "worker_rlimit_nofile": str(2 * connections + 64),
        "access_log": env.get("NGINX_ACCESS_LOG") or "off",
        "error_log_level": env.get("NGINX_LOG_LEVEL") or "warn",
        "stream_timeout": env.get("NGINX_STREAM_TIMEOUT") or "1h",
        "forwarded_proto": "$edge_proto" if env.get("NGINX_TRUST_FORWARDED_PROTO", "").lower() == "true" else "$scheme",
    }
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(f"{{{{ {name} }}}}", value)
    if "{{" in text:
        raise ValueError(f"unfilled placeholder in {TEMPLATE}: {text[text.index('{{'):][:40]}")
    return text


def nginx_binary() -> str:
    """Debian installs nginx in /usr/sbin, which is not on every user's PATH."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None:
        sys.exit("nginx is not installed: apt-get install nginx (make run does it when run as root)")
    return found


def main() -> None:
    run_dir = Path(os.environ.get("RUN_DIR") or "var/run").resolve()
    # nginx's workers run as "nobody" when the master runs as root: they must reach the temp dirs.
    (run_dir / "nginx").mkdir(parents=True, exist_ok=True)
    for directory in (run_dir, run_dir / "nginx"):
        directory.chmod(0o755)
    config = run_dir / "nginx.conf"
    config.write_text(render(os.environ, run_dir))
    argv = [nginx_binary(), "-p", f"{run_dir}/nginx/", "-e", "stderr", "-c", str(config)]
    if "--check" in sys.argv[1:]:
        argv.append("-t")
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()
