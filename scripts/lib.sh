# Shared helpers for rcbs's scripts; source it, do not run it.

# say prints a line to stderr (stdout is kept for machine-read output).
say() { printf '%s\n' "$*" >&2; }

# die prints its message and exits 1.
die() { say "error: $*"; exit 1; }

# rcbs_cache is the folder where scripts install pinned tools once.
rcbs_cache() { echo "${RCBS_CACHE:-$HOME/.cache/rcbs}"; }

# free_port prints a TCP port on 127.0.0.1 that the OS reports free.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_port PORT TRIES waits (TRIES x 0.1 s) until 127.0.0.1:PORT accepts connections.
wait_port() {
	local port=$1 tries=$2
	while [ "$tries" -gt 0 ]; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}
