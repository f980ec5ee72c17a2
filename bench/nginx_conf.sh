# shellcheck shell=bash
# Sourced: nginx_conf DIR PORT ROOT WORKERS [HTTP_LINES [SERVER_LINES]]
# Prints an nginx.conf for a bench or test instance that keeps everything it writes in DIR
# (pid, error log, temp paths), logs no requests, runs in the foreground and serves ROOT on
# 127.0.0.1:PORT with WORKERS worker processes ("auto": one a core). HTTP_LINES and
# SERVER_LINES go into the http and server blocks as they are (an empty one leaves no line).
nginx_conf() {
	local dir=$1 port=$2 root=$3 workers=$4 http_lines=${5:-} server_lines=${6:-}

	sed '/^[[:space:]]*$/d' <<CONF
worker_processes $workers;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	$http_lines
	server {
		listen 127.0.0.1:$port;
		root $root;
		$server_lines
	}
}
CONF
}
