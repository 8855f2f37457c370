# Servers, tools and the timing harness of scripts/bench; sourced by it.
# Globals set by scripts/bench: WORK OUT LOGS RESULTS SEED RCBS S5CMD RCLONE
# AWS VGW MINIO S3_ACCESS S3_SECRET GWS_USER GWS_PASS, and PIDS (an array of
# the processes it started, stopped by its exit trap).

# --- S3 servers ---------------------------------------------------------

# start_versitygw starts a fresh versitygw on a free port and sets
# S3_ENDPOINT and S3_LOG. It is started here rather than through
# scripts/versitygw for two flags: --access-log (to count the S3 requests
# each tool makes) and --keep-alive (versitygw closes every connection
# after one request without it, which no real S3 does and which would
# dominate small-object timings).
start_versitygw() {
	local dir=$WORK/versitygw port
	mkdir -p "$dir/data"
	port=$(free_port)
	ROOT_ACCESS_KEY=$S3_ACCESS ROOT_SECRET_KEY=$S3_SECRET \
		"$VGW" --quiet --keep-alive --access-log "$dir/access.log" --port "127.0.0.1:$port" \
		posix "$dir/data" >"$LOGS/versitygw.log" 2>&1 &
	PIDS+=($!)
	S3_PID=$!
	wait_port "$port" 100 || die "versitygw did not start (see $LOGS/versitygw.log)"
	S3_ENDPOINT=http://127.0.0.1:$port
	S3_LOG=$dir/access.log
	S3_SERVER=versitygw
}

# start_minio starts MinIO, the second reference; it has no access log
# here, so its request counts are reported as unknown.
start_minio() {
	local dir=$WORK/minio port cport
	mkdir -p "$dir/data"
	port=$(free_port)
	cport=$(free_port)
	MINIO_ROOT_USER=$S3_ACCESS MINIO_ROOT_PASSWORD=$S3_SECRET MINIO_BROWSER=off \
		"$MINIO" server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$cport" "$dir/data" \
		>"$LOGS/minio.log" 2>&1 &
	PIDS+=($!)
	S3_PID=$!
	wait_port "$port" 300 || die "minio did not start (see $LOGS/minio.log)"
	sleep 1 # MinIO accepts connections a moment before it serves requests
	S3_ENDPOINT=http://127.0.0.1:$port
	S3_LOG=
	S3_SERVER=minio
}

stop_s3() {
	stop_pid "$S3_PID"
	rm -rf "$WORK/versitygw" "$WORK/minio"
}

# stop_pid ends one process this script started and waits for it.
stop_pid() {
	local pid=$1
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# s3_mark prints the access log's current size (0 when there is none).
s3_mark() {
	if [ -n "$S3_LOG" ] && [ -f "$S3_LOG" ]; then stat -c %s "$S3_LOG"; else echo 0; fi
}

# s3_counts MARK prints "GET HEAD LIST OTHER" for the log lines written
# since MARK, or "-1 -1 -1 -1" when requests cannot be counted.
s3_counts() {
	if [ -z "$S3_LOG" ]; then
		echo "-1 -1 -1 -1"
		return
	fi
	tail -c +"$(($1 + 1))" "$S3_LOG" | grep -o ' s3_[A-Za-z0-9]* ' | awk '
		/s3_GetObject /  { g++; next }
		/s3_HeadObject / { h++; next }
		/s3_List/        { l++; next }
		                 { o++ }
		END { printf "%d %d %d %d\n", g, h, l, o }'
}

# --- the recordings API -------------------------------------------------

# start_api WORKLOAD-FLAGS... serves a workload's metadata (benchseed serve)
# and sets API_URL and API_PID.
start_api() {
	local ready=$WORK/api.ready
	rm -f "$ready"
	"$SEED" serve -listen 127.0.0.1:0 -ready "$ready" "$@" \
		>>"$LOGS/api.log" 2>&1 &
	API_PID=$!
	PIDS+=($API_PID)
	local tries=100
	while [ ! -s "$ready" ]; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || die "the recordings API did not start (see $LOGS/api.log)"
		sleep 0.1
	done
	API_URL=$(cat "$ready")
}

stop_api() { stop_pid "$API_PID"; }

api_mark() { "$SEED" stats -api "$API_URL" 2>/dev/null || echo -1; }

# --- the link ---------------------------------------------------------

# start_link RTT sets what the tools connect to: the servers themselves at
# RTT 0, else a delaying TCP proxy (benchseed delay) in front of S3 and one
# in front of the API, so every tool sees the same wide-area link.
# LINK names the server and RTT in results.tsv ("versitygw", "versitygw
# rtt=20ms"), so that the report gives each RTT its own table.
start_link() {
	local rtt=$1
	LINK_PIDS=()
	TOOL_S3=$S3_ENDPOINT
	TOOL_API=$API_URL
	LINK=$S3_SERVER
	case $rtt in 0 | 0ms | 0s) return 0 ;; esac
	TOOL_S3=http://$(start_delay "${S3_ENDPOINT#http://}" "$rtt" s3)
	local api_host=${API_URL#http://}
	api_host=${api_host%%/*}
	TOOL_API=http://$(start_delay "$api_host" "$rtt" api)${API_URL#http://"$api_host"}
	LINK="$S3_SERVER rtt=$rtt"
	say "bench: $LINK: tools reach S3 at $TOOL_S3 and the API at $TOOL_API"
}

# start_delay HOST:PORT RTT NAME starts one proxy and prints its host:port.
start_delay() {
	local ready=$WORK/delay-$3.ready
	rm -f "$ready"
	"$SEED" delay -to "$1" -rtt "$2" -ready "$ready" >>"$LOGS/delay.log" 2>&1 &
	LINK_PIDS+=($!)
	PIDS+=($!)
	local tries=100
	while [ ! -s "$ready" ]; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || die "the delay proxy did not start (see $LOGS/delay.log)"
		sleep 0.1
	done
	cat "$ready"
}

stop_link() {
	local pid
	for pid in "${LINK_PIDS[@]}"; do stop_pid "$pid"; done
	LINK_PIDS=()
}

# --- tools --------------------------------------------------------------

# write_rcbs_config FILE TARGETDIR METADATAONLY [KEY=VALUE,...]: one shard
# covering the workload's whole window (maxDate/minDate as epoch ms), media
# from S3, then a variant's own properties (later keys win).
write_rcbs_config() {
	cat >"$1" <<-EOF
		# written by scripts/bench
		gwsUriPrefix=$TOOL_API
		targetDir=$2
		maxDate=$W_START_MS
		minDate=$W_END_MS
		shardBy=P1D
		metadataOnly=$3
		awsEndpoint=$TOOL_S3
		awsRegion=us-east-1
	EOF
	[ -z "${4:-}" ] || tr ',' '\n' <<<"$4" >>"$1"
}

# tool_argv TOOL MODE DIR sets CMD to the command to time (MODE: get, a
# first download into an empty DIR; resync, the same again into a full DIR;
# meta, rcbs metadata only). Per-tool variables go through env(1), which
# execs the tool, so GNU time measures the tool itself and nothing else.
tool_argv() {
	local tool=$1 mode=$2 dir=$3 src="s3://$W_BUCKET/$W_PREFIX"
	case $tool:$mode in
	rcbs:* | rcbs\[* | rcbs@*)
		# "rcbs[numThreads=16,...]" is rcbs with those properties added;
		# "rcbs@REV" is rcbs built from that revision (BENCH_RCBS_BASE)
		local only=false props= bin=$RCBS
		[ "$mode" = meta ] && only=true
		[[ $tool == rcbs\[*\] ]] && props=${tool#rcbs[} && props=${props%]}
		[[ $tool == rcbs@* ]] && bin=$RCBS_BASE
		write_rcbs_config "$WORK/rcbs.properties" "$dir" "$only" "$props"
		CMD=("$bin" run -config "$WORK/rcbs.properties") ;;
	s5cmd:get) CMD=("$S5CMD" --endpoint-url "$TOOL_S3" --log error cp "$src/*" "$dir/") ;;
	s5cmd:resync) CMD=("$S5CMD" --endpoint-url "$TOOL_S3" --log error sync "$src/*" "$dir/") ;;
	rclone:*) CMD=(env RCLONE_CONFIG="$WORK/rclone.conf" RCLONE_CONFIG_BENCH_ENDPOINT="$TOOL_S3" "$RCLONE" copy "bench:$W_BUCKET/$W_PREFIX" "$dir") ;;
	aws:get) CMD=(env AWS_CONFIG_FILE="$WORK/aws.config" "$AWS" s3 cp --recursive --only-show-errors
		--endpoint-url "$TOOL_S3" "$src/" "$dir") ;;
	aws:resync) CMD=(env AWS_CONFIG_FILE="$WORK/aws.config" "$AWS" s3 sync --only-show-errors
		--endpoint-url "$TOOL_S3" "$src/" "$dir") ;;
	*) die "bench: no $mode command for $tool" ;;
	esac
}

# tool_env exports the credentials (GWS_* for rcbs and the API, AWS_* and
# RCLONE_CONFIG_BENCH_* for the S3 clients) and writes the peers' configuration: credentials only in the
# environment (never argv or the results), path-style addressing.
tool_env() {
	export GWS_USERNAME=$GWS_USER GWS_PASSWORD=$GWS_PASS
	export AWS_ACCESS_KEY_ID=$S3_ACCESS AWS_SECRET_ACCESS_KEY=$S3_SECRET AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
	printf '[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n' >"$WORK/aws.config"
	: >"$WORK/rclone.conf"
	export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other RCLONE_CONFIG_BENCH_ENV_AUTH=false \
		RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=$S3_ACCESS RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=$S3_SECRET \
		RCLONE_CONFIG_BENCH_REGION=us-east-1 RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true
}

# --- the harness --------------------------------------------------------

# in_background CMD... runs CMD in its own process group and waits for it.
# A signal to this script then interrupts the wait at once (bash defers
# traps while a foreground child runs) and the exit trap ends the whole
# group (GNU time and the tool under it) through FG_PGID.
in_background() {
	setsid "$@" &
	FG_PGID=$!
	local rc=0
	wait "$FG_PGID" || rc=$?
	FG_PGID=
	return "$rc"
}

# on_disk DIR KIND prints "FILES BYTES": media files (rcbs: *.bin; peers:
# every file) or, for KIND=json, rcbs's recording.json files (bytes 0).
on_disk() {
	local dir=$1 kind=$2 tool=$3 name='*'
	[[ $tool == rcbs* ]] && name='*.bin'
	[ "$kind" = json ] && name=recording.json
	find "$dir" -type f -name "$name" ! -name '.rcbs-tmp-*' -printf '%s\n' 2>/dev/null |
		awk -v kind="$kind" '{ n++; b += $1 } END { if (kind == "json") b = 0; printf "%d %d\n", n, b }'
}

# measure WORKLOAD TOOL RUN MODE DIR KIND EXP_FILES EXP_BYTES: runs the tool
# under GNU time, counts the S3 and API requests made meanwhile, checks
# what it left on disk, and appends one line to results.tsv.
measure() {
	local workload=$1 tool=$2 run=$3 mode=$4 dir=$5 kind=$6 exp_files=$7 exp_bytes=$8
	local log="$LOGS/${LINK// /-}-$workload-$tool.log" tf=$WORK/time.out rc=0 s3m apim load1
	mkdir -p "$dir"
	s3m=$(s3_mark)
	apim=$(api_mark)
	load1=$(cut -d' ' -f1 /proc/loadavg)
	echo "== run $run: $tool $mode into $dir" >>"$log"
	tool_argv "$tool" "$mode" "$dir"
	in_background /usr/bin/time -f '%e %U %S %M' -o "$tf" "${CMD[@]}" >>"$log" 2>&1 </dev/null || rc=$?
	sleep 0.3 # let the server finish logging the last request
	local wall user sys rss files bytes get head list other api
	read -r wall user sys rss < <(tail -n1 "$tf")
	read -r get head list other < <(s3_counts "$s3m")
	api=$(api_mark)
	[ "$apim" -ge 0 ] && [ "$api" -ge 0 ] && api=$((api - apim)) || api=-1
	read -r files bytes < <(on_disk "$dir" "$kind" "$tool")
	printf '%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n' \
		"$LINK" "$workload" "$tool" "$run" "$wall" "$user" "$sys" "$rss" "$rc" "$files" "$bytes" \
		"$exp_files" "$exp_bytes" "$get" "$head" "$list" "$other" "$api" "$load1" >>"$RESULTS"
	local flag=ok
	[ "$rc" -eq 0 ] && [ "$files" -eq "$exp_files" ] && [ "$bytes" -eq "$exp_bytes" ] ||
		flag="FAILED (exit $rc, $files/$exp_files files, see $log)"
	say "  $LINK $workload $tool run $run: ${wall}s wall, $(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')s CPU, $((rss / 1024)) MiB, S3 GET $get — $flag"
}

# workload_info WORKLOAD-FLAGS... sets W_* from `benchseed info`.
workload_info() {
	local k v
	while IFS='=' read -r k v; do
		case $k in
		recordings) W_RECORDINGS=$v ;; media) W_MEDIA=$v ;; bytes) W_BYTES=$v ;;
		start_ms) W_START_MS=$v ;; end_ms) W_END_MS=$v ;; bucket) W_BUCKET=$v ;; prefix) W_PREFIX=$v ;;
		esac
	done < <("$SEED" info "$@")
	[ -n "${W_PREFIX:-}" ] || die "benchseed info $* failed"
}
