# Installs and describes the benchmark's peers; sourced by scripts/bench
# (which has sourced scripts/lib.sh). Each installer prints the binary's path
# on stdout, builds it once into $(rcbs_cache)/bin and reuses it afterwards.

S5CMD_VERSION=v2.3.0
RCLONE_VERSION=v1.76.0

# install_s5cmd: `go install` fails here because the module proxy refuses
# s5cmd's version list (spec §11), so download the module and build it
# inside the (read-only) module cache folder, output into the cache bin.
install_s5cmd() {
	local bin dir
	bin="$(rcbs_cache)/bin/s5cmd"
	if [ ! -x "$bin" ]; then
		say "bench: building s5cmd $S5CMD_VERSION into $(rcbs_cache)/bin (about 20 s)"
		dir=$(cd / && go mod download -json "github.com/peak/s5cmd/v2@$S5CMD_VERSION" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		[ -n "$dir" ] || return 1
		mkdir -p "$(rcbs_cache)/bin"
		(cd "$dir" && GOFLAGS=-mod=mod go build -o "$bin.tmp" . && mv "$bin.tmp" "$bin") || return 1
	fi
	echo "$bin"
}

# install_rclone builds rclone once (about 4.5 minutes cold).
install_rclone() {
	local bin
	bin="$(rcbs_cache)/bin/rclone"
	if [ ! -x "$bin" ]; then
		say "bench: building rclone $RCLONE_VERSION into $(rcbs_cache)/bin (about 5 minutes the first time)"
		mkdir -p "$(rcbs_cache)/bin"
		(cd / && GOBIN="$(rcbs_cache)/bin" go install "github.com/rclone/rclone@$RCLONE_VERSION") || return 1
	fi
	echo "$bin"
}

# find_aws prints the aws CLI to run. Under pyenv the `aws` on PATH is a
# shell shim that costs a bash start per call; time the real program.
find_aws() {
	local shim real
	shim=$(command -v aws) || return 1
	if command -v pyenv >/dev/null 2>&1 && real=$(pyenv which aws 2>/dev/null) && [ -x "$real" ]; then
		echo "$real"
		return 0
	fi
	echo "$shim"
}

# find_minio prints a MinIO server binary when one is present (BENCH_MINIO,
# PATH or the cache); the benchmark never builds it (1.5 GB RAM, 4.5 min).
find_minio() {
	if [ -n "${BENCH_MINIO:-}" ]; then
		[ -x "$BENCH_MINIO" ] && echo "$BENCH_MINIO"
		return
	fi
	command -v minio 2>/dev/null && return 0
	[ -x "$(rcbs_cache)/bin/minio" ] && echo "$(rcbs_cache)/bin/minio"
	return 0
}

# ensure_time installs GNU time when /usr/bin/time is missing.
ensure_time() {
	[ -x /usr/bin/time ] && return 0
	say "bench: installing GNU time (/usr/bin/time)"
	apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time >/dev/null; } ||
		die "cannot install GNU time: install the 'time' package and retry"
}

# tool_version prints one line naming a tool's version.
tool_version() {
	case $1 in
	s5cmd) echo "s5cmd $S5CMD_VERSION (built from the module; its own 'version' says $("$S5CMD" version 2>/dev/null | head -1))" ;;
	rclone) "$RCLONE" version 2>/dev/null | head -1 ;;
	aws) "$AWS" --version 2>&1 | head -1 ;;
	versitygw) echo "versitygw v1.8.0 ($VGW)" ;;
	minio) "$MINIO" --version 2>/dev/null | head -1 ;;
	esac
}
