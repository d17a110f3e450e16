#!/usr/bin/env bash
# End-to-end benchmarks of herald, each figure beside a reference measured
# in the same run: cold start vs. reading the files, peak memory,
# edit → served latency vs. content.debounce_ms, and HTTP throughput vs.
# nginx serving the same feed from `herald build` output. See
# bench/README.md.
#
#   bash bench/run.sh                  # full: 10k and 100k articles, 10 s wrk runs (~5 min)
#   BENCH_QUICK=1 bash bench/run.sh    # quick: 1k and 10k articles, 3 s wrk runs
#   BENCH_MILLION=1 bash bench/run.sh  # and the 1,000,000-article step (5.3 GB, ~15 min more)
#
# Every process it starts is stopped by its PID on exit; all traffic stays
# on 127.0.0.1; every wait has a deadline.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

QUICK=${BENCH_QUICK:-0}
if [[ $QUICK == 1 ]]; then
    SMALL=1000 MID=1000 BIG=10000 WRK_SECS=3 REPEAT=1 COLD_REPEAT=1
else
    # Cold starts are short: five of each, so one stall moves the median less.
    SMALL=1000 MID=10000 BIG=100000 WRK_SECS=10 REPEAT=3 COLD_REPEAT=5
fi
MILLION=${BENCH_MILLION:-0}
EDITS=${BENCH_EDITS:-100}
FANOUT=${BENCH_FANOUT:-1000} # WebSub subscribers of one feed
FANOUT_EDITS=$([[ $QUICK == 1 ]] && echo 5 || echo 20)
FEED_CAT=politics # an ASCII category of the generated corpus: its 50-item RSS feed is served

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# ---------------------------------------------------------------------------
# Processes we start, and cleanup

WORK=$(mktemp -d "${TMPDIR:-/tmp}/herald-bench.XXXXXX")
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
cpu_ticks() { awk '/^cpu / {print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; } # steal, total
read -r STEAL_BEFORE TICKS_BEFORE < <(cpu_ticks)
PIDS=()

alive() { kill -0 "$1" 2>/dev/null; }

# Stops one process we started: SIGTERM, up to 10 s, then SIGKILL.
stop_pid() {
    local pid=$1 i
    alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
    if [[ $(cat "$WORK/herald.pid" 2>/dev/null) == "$pid" ]]; then rm -f "$WORK/herald.pid"; fi
    local rest=() p
    for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || rest+=("$p"); done
    PIDS=("${rest[@]}")
}

POLICY_RC_CREATED=0
cleanup() {
    local rc=$?
    set +e
    local p
    # A daemon whose cold-start timer was interrupted is known only by its pidfile.
    p=$(cat "$WORK/herald.pid" 2>/dev/null)
    if [[ -n $p ]] && grep -qs herald "/proc/$p/cmdline"; then PIDS+=("$p"); fi
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    if [[ $POLICY_RC_CREATED == 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---------------------------------------------------------------------------
# Tools

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
missing=()
command -v wrk >/dev/null || missing+=(wrk)
[[ -x $NGINX ]] || missing+=(nginx)
command -v curl >/dev/null || missing+=(curl)
command -v gzip >/dev/null || missing+=(gzip)
if ((${#missing[@]})); then
    [[ $EUID == 0 ]] || die "missing ${missing[*]}: install them (apt-get install -y ${missing[*]}) or run as root"
    log "installing ${missing[*]}"
    # Debian starts a freshly installed nginx on port 80; policy-rc.d (the
    # Debian mechanism for exactly this) keeps it from starting.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        POLICY_RC_CREATED=1
    fi
    timeout 600 apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [[ $POLICY_RC_CREATED == 1 ]]; then
        rm -f /usr/sbin/policy-rc.d
        POLICY_RC_CREATED=0
    fi
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi
command -v cargo >/dev/null || die "cargo not found: install a Rust toolchain (rustup)"

log "building release binaries"
timeout 1800 cargo build --release --quiet --bin herald \
    --example gen_corpus --example readfiles --example coldstart --example edit_latency \
    --example websub_fanout
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release
HERALD=$BIN/herald
EX=$BIN/examples

# ---------------------------------------------------------------------------
# Helpers

# kv KEY "k1=v1 k2=v2": the value of KEY.
kv() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -n1; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
max() { printf '%s\n' "$@" | sort -g | tail -n1; }
min() { printf '%s\n' "$@" | sort -g | head -n1; }
calc() { awk "BEGIN {printf \"$1\", $2}"; }
yn() { if awk "BEGIN {exit !($1)}"; then echo yes; else echo NO; fi; }
fmt_n() { sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$1"; }

free_port() {
    local p
    for p in $(shuf -i 10000-32767 -n 50); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    die "no free port"
}

# Starts herald on an ephemeral port through the cold-start timer and
# sets LINE to the timer's key=value line. With "keep" the daemon stays up
# (HERALD_PID, tracked for cleanup). Not to be called in a subshell.
HERALD_PID=
LINE=
coldstart_herald() {
    local dir=$1 n=$2 keep=${3:-} config=${4:-herald.toml} args=() pid
    if [[ $keep == keep ]]; then args+=(--keep); fi
    rm -f "$WORK/herald.pid"
    if ! LINE=$(timeout 600 "$EX/coldstart" --expect "$n" --log "$WORK/herald-$n.log" \
        --pidfile "$WORK/herald.pid" --feed "/$FEED_CAT/rss.xml" --timeout-s 300 "${args[@]}" -- \
        "$HERALD" serve --config "$dir/$config" --listen "127.0.0.1:{port}"); then
        pid=$(cat "$WORK/herald.pid" 2>/dev/null || true)
        if [[ -n $pid ]]; then PIDS+=("$pid"); fi
        die "herald did not start on $dir (log: $WORK/herald-$n.log)"
    fi
    if [[ $keep == keep ]]; then
        HERALD_PID=$(kv pid "$LINE")
        PIDS+=("$HERALD_PID")
    fi
}

# Sets READ_LINE to the reference's timer line (ms, cpu_ms).
READ_LINE=
read_files() { READ_LINE=$(timeout 600 "$EX/coldstart" --exit -- "$EX/readfiles" "$1/content"); }

# Waits up to SECONDS for the running herald's log (herald-N.log) to say
# NEEDLE; dies with WHAT when it does not, or when herald exits.
wait_for_log() {
    local n=$1 needle=$2 secs=$3 what=$4 i
    for ((i = 0; i < secs * 10; i++)); do
        grep -qs "$needle" "$WORK/herald-$n.log" && return 0
        alive "$HERALD_PID" || die "herald exited (log: $WORK/herald-$n.log)"
        sleep 0.1
    done
    die "$what in $secs s (log: $WORK/herald-$n.log)"
}

# Writes DIR/herald-index.toml: DIR/herald.toml with content.index_file set.
index_config() { sed 's|^\[content\]$|[content]\nindex_file = "index"|' "$1/herald.toml" >"$1/herald-index.toml"; }

status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# wrk for WRK_SECS on one connection-heavy loopback run; prints requests/s.
wrk_rps() {
    local url=$1 out non
    shift
    out=$(timeout $((WRK_SECS + 30)) wrk -t1 -c64 -d"${WRK_SECS}s" "$@" "$url")
    non=$(sed -n 's/.*Non-2xx or 3xx responses: *//p' <<<"$out")
    [[ -z $non ]] || log "warning: $url: $non non-2xx/3xx responses"
    grep -q 'Socket errors' <<<"$out" && log "warning: $url: $(grep 'Socket errors' <<<"$out")"
    sed -n 's/^Requests\/sec: *//p' <<<"$out"
}

# ---------------------------------------------------------------------------
# Corpora

declare -A CORPUS
for n in $(printf '%s\n' "$SMALL" "$MID" "$BIG" | sort -nu); do
    dir=$WORK/c$n
    log "generating $n articles"
    # = cargo run --release --example gen_corpus -- …, without the rebuild
    # cargo would do if the sources changed since the build above.
    timeout 900 "$EX/gen_corpus" --n "$n" --seed 42 --out "$dir"
    CORPUS[$n]=$dir
done
DEBOUNCE=$(sed -n 's/^debounce_ms *= *\([0-9]*\).*/\1/p' "${CORPUS[$BIG]}/herald.toml" | head -n1)
DEBOUNCE=${DEBOUNCE:-100}

# `herald build` output of the big corpus, for nginx; written before any
# timing so it does not compete with it.
log "herald build of $BIG articles for nginx"
timeout 600 "$HERALD" build --config "${CORPUS[$BIG]}/herald.toml" --out "$WORK/out" >/dev/null 2>"$WORK/build.log" ||
    die "herald build failed (see $WORK/build.log)"
FEED_FILE=$WORK/out/$FEED_CAT/rss.xml
[[ -s $FEED_FILE ]] || die "herald build wrote no $FEED_FILE"
gzip -k -9 -f "$FEED_FILE"

# ---------------------------------------------------------------------------
# 1, 2. Cold start vs. reading every file, and peak memory

declare -A COLD READ HWM COLD_BEST READ_BEST
for n in $(printf '%s\n' "$MID" "$BIG" | sort -nu); do
    dir=${CORPUS[$n]}
    log "cold start at $n articles ($COLD_REPEAT runs each, warm page cache)"
    "$EX/readfiles" "$dir/content" >/dev/null # warm the page cache
    herald_ms=() read_ms_list=() hwm=()
    for ((r = 1; r <= COLD_REPEAT; r++)); do
        read_files "$dir"
        read_ms_list+=("$(kv ms "$READ_LINE")")
        keep=
        if [[ $n == "$BIG" && $r == "$COLD_REPEAT" ]]; then keep=keep; fi
        coldstart_herald "$dir" "$n" "$keep"
        herald_ms+=("$(kv ms "$LINE")")
        hwm+=("$(kv vmhwm_kb "$LINE")")
        if [[ $keep == keep ]]; then BIG_ADDR=$(kv addr "$LINE"); fi
        log "  run $r: herald $(kv ms "$LINE") ms (CPU $(kv cpu_ms "$LINE") ms, VmHWM $(kv vmhwm_kb "$LINE") kB), read ${read_ms_list[-1]} ms (CPU $(kv cpu_ms "$READ_LINE") ms)"
    done
    COLD[$n]=$(median "${herald_ms[@]}")
    READ[$n]=$(median "${read_ms_list[@]}")
    COLD_BEST[$n]=$(min "${herald_ms[@]}")
    READ_BEST[$n]=$(min "${read_ms_list[@]}")
    HWM[$n]=$(max "${hwm[@]}")
done
CORPUS_MIB=$(du -sm "${CORPUS[$BIG]}/content" | cut -f1)

# ---------------------------------------------------------------------------
# 4. Throughput: herald (still running on the big corpus) vs. nginx

# Serving starts before the background check of every quickly indexed
# file ends; the throughput measured is the settled daemon's.
log "waiting for herald's background check of $BIG files"
wait_for_log "$BIG" 'every file checked in full' 300 "herald's background check did not finish"

served=$WORK/served.xml
curl -sf --max-time 10 -o "$served" "http://$BIG_ADDR/$FEED_CAT/rss.xml" || die "cannot GET the feed from herald"
if cmp -s "$served" "$FEED_FILE"; then SAME=yes; else SAME=no; fi
FEED_BYTES=$(stat -c %s "$FEED_FILE")
GZ_BYTES=$(stat -c %s "$FEED_FILE.gz")

NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx"
{
    echo "worker_processes 1;"
    echo "daemon off;"
    echo "pid $WORK/nginx/nginx.pid;"
    echo "error_log $WORK/nginx/error.log warn;"
    # Workers otherwise switch to 'nobody', who cannot read the 0700 work dir.
    [[ $EUID == 0 ]] && echo "user root;"
    cat <<EOF
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    types { application/rss+xml xml; application/atom+xml atom; application/feed+json json; text/html html; }
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    open_file_cache max=1000 inactive=60s;
    open_file_cache_valid 60s;
    gzip_static on;
    gzip_vary on;
    etag on;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/out;
        add_header Cache-Control "public, max-age=300";
    }
}
EOF
} >"$WORK/nginx/nginx.conf"
"$NGINX" -p "$WORK/nginx/" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
for ((i = 0; i < 100; i++)); do
    curl -sf --max-time 1 -o /dev/null "http://127.0.0.1:$NGINX_PORT/$FEED_CAT/rss.xml" && break
    alive "$NGINX_PID" || die "nginx exited: $(tail -n3 "$WORK/nginx/error.log")"
    sleep 0.1
done

HERALD_URL=http://$BIG_ADDR/$FEED_CAT/rss.xml
NGINX_URL=http://127.0.0.1:$NGINX_PORT/$FEED_CAT/rss.xml
etag_of() { curl -sfI --max-time 5 "$1" | sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r$/\1/p'; }
code_of() { curl -s --max-time 5 -o /dev/null -w '%{http_code} %{content_type} %{size_download}' "$@"; }
HERALD_ETAG=$(etag_of "$HERALD_URL")
NGINX_ETAG=$(etag_of "$NGINX_URL")
for url in "$HERALD_URL" "$NGINX_URL"; do
    log "check $url: plain $(code_of "$url"), gzip $(code_of -H 'Accept-Encoding: gzip' "$url")"
done
[[ $(code_of -H "If-None-Match: $HERALD_ETAG" "$HERALD_URL") == 304* ]] || die "herald does not answer 304 to its ETag"
[[ $(code_of -H "If-None-Match: $NGINX_ETAG" "$NGINX_URL") == 304* ]] || die "nginx does not answer 304 to its ETag"
curl -sf --max-time 5 -D - -o /dev/null -H 'Accept-Encoding: gzip' "$NGINX_URL" | grep -qi '^content-encoding: gzip' ||
    die "nginx does not send the .gz (gzip_static)"
# herald serves a load as soon as it is rendered and compresses it just
# after, on one core: measure the steady state, with the variants made.
for ((i = 0; i < 600; i++)); do
    curl -sf --max-time 5 -D - -o /dev/null -H 'Accept-Encoding: gzip' "$HERALD_URL" | grep -qi '^content-encoding: gzip' && break
    sleep 0.1
done
((i < 600)) || die "herald never sent a gzip variant"

# Each pair is measured $REPEAT times, herald and nginx alternating, and
# the best run of each counts: this VM has stalls of up to a second that
# would otherwise decide the ratio.
declare -A RPS
for kind in plain gzip 304; do
    for ((r = 1; r <= REPEAT; r++)); do
        for server in herald nginx; do
            if [[ $server == herald ]]; then url=$HERALD_URL etag=$HERALD_ETAG; else url=$NGINX_URL etag=$NGINX_ETAG; fi
            case $kind in
            plain) hdr=() ;;
            gzip) hdr=(-H 'Accept-Encoding: gzip') ;;
            304) hdr=(-H "If-None-Match: $etag") ;;
            esac
            rps=$(wrk_rps "$url" "${hdr[@]}")
            log "wrk $server $kind (${WRK_SECS}s, run $r): $rps req/s"
            RPS[$server-$kind]=$(max "${RPS[$server-$kind]:-0}" "${rps:-0}")
        done
    done
done
stop_pid "$NGINX_PID"

# ---------------------------------------------------------------------------
# 3. Edit → served latency, at the big corpus (same daemon) and the small one

declare -A EDIT
# Edits 250 ms apart, each polled every 1 ms from 10 ms before the
# debounce ends (nothing can be served sooner): the poller's own load
# stays off the two cores it shares with herald.
EDIT_ARGS=(--edits "$EDITS" --seed 7 --gap-ms 250 --first-poll-ms $((DEBOUNCE > 10 ? DEBOUNCE - 10 : 0)))
log "$EDITS edits at $BIG articles"
EDIT[$BIG]=$(timeout 600 "$EX/edit_latency" --addr "$BIG_ADDR" --content "${CORPUS[$BIG]}/content" \
    "${EDIT_ARGS[@]}" --samples "$WORK/edits-$BIG.txt")
HWM_EDITS=$(status_kb "$HERALD_PID" VmHWM)

# 3b. Pages rendered on request: the first request of article pages (every
# 331st article, most outside every feed) and of tag feeds (every 17th tag
# of /tags/, popular and rare alike), one at a time.
log "first requests of article pages and tag feeds at $BIG articles"
first_requests() {
    while read -r u; do
        curl -s -o /dev/null -w "%{http_code} %{time_total}\n" "http://$BIG_ADDR$u"
    done
}
# "p50 p99 n" of the times (ms) of the 200 answers in a first_requests output.
percentiles() {
    awk '$1 == 200 {print $2 * 1000}' | sort -n |
        awk '{a[NR] = $1} END {if (NR) printf "%.1f %.1f %d", a[int(NR / 2) + 1], a[int(NR * 0.99) + 1], NR; else print "0 0 0"}'
}
PAGE_PATHS=$(find "${CORPUS[$BIG]}/content" -name 'a*.md' | sort | awk 'NR % 331 == 0' | head -300 |
    sed -E 's#^.*/content/([^/]+)/(.*/)?([^/]+)\.md$#/\1/\3.html#')
PAGES=$(first_requests <<<"$PAGE_PATHS" | percentiles)
TAG_PATHS=$(curl -s "http://$BIG_ADDR/tags/" | grep -o 'href="[^"]*/tags/[^"]*/"' |
    sed -E 's#href="[a-z]+://[^/]+##; s#"$#rss.xml#' | awk 'NR % 17 == 0' | head -300)
TAGS=$(first_requests <<<"$TAG_PATHS" | percentiles)
HWM_PAGES=$(status_kb "$HERALD_PID" VmHWM)
stop_pid "$HERALD_PID"

log "$EDITS edits at $SMALL articles"
coldstart_herald "${CORPUS[$SMALL]}" "$SMALL" keep
sleep 3 # steady state: the first load compressed and checked in full
EDIT[$SMALL]=$(timeout 600 "$EX/edit_latency" --addr "$(kv addr "$LINE")" --content "${CORPUS[$SMALL]}/content" \
    "${EDIT_ARGS[@]}" --samples "$WORK/edits-$SMALL.txt")
stop_pid "$HERALD_PID"

log "WebSub: $FANOUT subscribers of one feed at $MID articles"
# The same corpus with the built-in hub on; subscribers listen on 127.0.0.x.
{
    cat "${CORPUS[$MID]}/herald.toml"
    printf '\n[websub]\nbuiltin = true\nallow_private_callbacks = true\nstate_dir = "%s"\n' "$WORK/websub-state"
} >"${CORPUS[$MID]}/herald-websub.toml"
coldstart_herald "${CORPUS[$MID]}" "$MID" keep herald-websub.toml
sleep 3 # steady state
BASE_URL=$(sed -n 's/^base_url *= *"\(.*\)".*/\1/p' "${CORPUS[$MID]}/herald.toml" | head -n1)
FANOUT_LINES=$(timeout 600 "$EX/websub_fanout" --addr "$(kv addr "$LINE")" --content "${CORPUS[$MID]}/content" \
    --base-url "$BASE_URL" --category "$FEED_CAT" --subscribers "$FANOUT" --edits "$FANOUT_EDITS")
stop_pid "$HERALD_PID"
ALONE=$(grep '^phase=alone' <<<"$FANOUT_LINES")
PUSHED=$(grep '^phase=subscribed' <<<"$FANOUT_LINES")

# ---------------------------------------------------------------------------
# Restarts from the saved index (content.index_file), against reading
# every file in the same run

declare -A RESTART RESTART_BEST RESTART_READ
for n in $(printf '%s\n' "$MID" "$BIG" | sort -nu); do
    dir=${CORPUS[$n]}
    log "restart from the saved index at $n articles ($COLD_REPEAT runs each)"
    index_config "$dir"
    rm -f "$dir/index"
    coldstart_herald "$dir" "$n" keep herald-index.toml
    wait_for_log "$n" 'index saved' 300 "herald did not save its index"
    stop_pid "$HERALD_PID"
    restart_ms=() read_ms_list=()
    for ((r = 1; r <= COLD_REPEAT; r++)); do
        read_files "$dir"
        read_ms_list+=("$(kv ms "$READ_LINE")")
        coldstart_herald "$dir" "$n" "" herald-index.toml
        grep -q 'from="saved index"' "$WORK/herald-$n.log" || die "herald did not start from its index (log: $WORK/herald-$n.log)"
        restart_ms+=("$(kv ms "$LINE")")
        log "  run $r: herald $(kv ms "$LINE") ms (CPU $(kv cpu_ms "$LINE") ms, VmHWM $(kv vmhwm_kb "$LINE") kB), read ${read_ms_list[-1]} ms"
    done
    RESTART[$n]=$(median "${restart_ms[@]}")
    RESTART_BEST[$n]=$(min "${restart_ms[@]}")
    RESTART_READ[$n]=$(median "${read_ms_list[@]}")
done

# ---------------------------------------------------------------------------
# 1,000,000 articles (BENCH_MILLION=1): a first start, restarts from the
# saved index, memory and edits, each start beside a read of every file

M_ROWS=()
if [[ $MILLION == 1 ]]; then
    M=1000000 dir=$WORK/c1000000
    log "generating $M articles"
    timeout 1800 "$EX/gen_corpus" --n "$M" --seed 42 --out "$dir"
    index_config "$dir"
    "$EX/readfiles" "$dir/content" >/dev/null # warm the page cache
    read_files "$dir"
    M_READ_FIRST=$(kv ms "$READ_LINE")
    log "first start at $M articles (reads every file)"
    coldstart_herald "$dir" "$M" keep herald-index.toml
    M_FIRST=$(kv ms "$LINE")
    wait_for_log "$M" 'index saved' 600 "herald did not save its index"
    M_HWM_FIRST=$(status_kb "$HERALD_PID" VmHWM)
    stop_pid "$HERALD_PID"
    m_restart=() m_read=()
    for ((r = 1; r <= 3; r++)); do
        read_files "$dir"
        m_read+=("$(kv ms "$READ_LINE")")
        keep=
        if [[ $r == 3 ]]; then keep=keep; fi
        coldstart_herald "$dir" "$M" "$keep" herald-index.toml
        m_restart+=("$(kv ms "$LINE")")
        log "  restart $r: $(kv ms "$LINE") ms (VmHWM $(kv vmhwm_kb "$LINE") kB), read ${m_read[-1]} ms"
    done
    sleep 30 # the survey that follows a restart
    M_EDIT=$(timeout 600 "$EX/edit_latency" --addr "$(kv addr "$LINE")" --content "$dir/content" --edits 30)
    M_HWM=$(status_kb "$HERALD_PID" VmHWM)
    stop_pid "$HERALD_PID"
    M_ROWS+=("| first start, 1,000,000 articles | $M_FIRST ms | $M_READ_FIRST ms (read all files) | $(calc '%.2f' "$M_FIRST / $M_READ_FIRST")× | ≤ 5,000 ms | $(yn "$M_FIRST <= 5000") |")
    M_ROWS+=("| restart from the saved index, 1,000,000 articles (median of 3) | $(median "${m_restart[@]}") ms | $(median "${m_read[@]}") ms (read all files) | $(calc '%.2f' "$(median "${m_restart[@]}") / $(median "${m_read[@]}")")× | ≤ 5,000 ms | $(yn "$(median "${m_restart[@]}") <= 5000") |")
    M_ROWS+=("| peak RSS, 1,000,000 articles: first start + check + index written / restart + survey + 30 edits | $(calc '%.0f' "$M_HWM_FIRST / 1024") / $(calc '%.0f' "$M_HWM / 1024") MiB | — | — | ≤ 1,024 MiB | $(yn "$M_HWM_FIRST <= 1048576 && $M_HWM <= 1048576") |")
    M_ROWS+=("| edit → served median, 1,000,000 articles (30 edits) | $(kv median_ms "$M_EDIT") ms | debounce_ms = $DEBOUNCE | — | ≤ $((DEBOUNCE + 10)) ms | $(yn "$(kv median_ms "$M_EDIT") <= $DEBOUNCE + 10") |")
    rm -rf "$dir"
fi

# ---------------------------------------------------------------------------
# The table

ROWS=()
# row MEASURE HERALD REFERENCE RATIO TARGET MET
row() { ROWS+=("| $1 | $2 | $3 | $4 | $5 | $6 |"); }

for n in $(printf '%s\n' "$MID" "$BIG" | sort -nu); do
    c=${COLD[$n]} r=${READ[$n]}
    ratio=$(calc '%.2f' "$c / $r")
    if [[ $n == "$BIG" ]]; then
        target="≤ 1.2× and < 1500 ms" met=$(yn "$c / $r <= 1.2 && $c < 1500")
    else
        target="≤ 1.2×" met=$(yn "$c / $r <= 1.2")
    fi
    row "cold start, $(fmt_n "$n") articles (median of $COLD_REPEAT)" "$(calc '%.0f' "$c") ms (best $(calc '%.0f' "${COLD_BEST[$n]}"))" \
        "$(calc '%.0f' "$r") ms (best $(calc '%.0f' "${READ_BEST[$n]}"); read all files, 2 threads)" "${ratio}×" "$target" "$met"
done
for n in $(printf '%s\n' "$MID" "$BIG" | sort -nu); do
    c=${RESTART[$n]} r=${RESTART_READ[$n]}
    row "restart from the saved index, $(fmt_n "$n") articles (median of $COLD_REPEAT)" "$(calc '%.0f' "$c") ms (best $(calc '%.0f' "${RESTART_BEST[$n]}"))" \
        "$(calc '%.0f' "$r") ms (read all files, 2 threads)" "$(calc '%.2f' "$c / $r")×" \
        "< the cold start above ($(calc '%.0f' "${COLD[$n]}") ms)" "$(yn "$c < ${COLD[$n]}")"
done
mib() { calc '%.1f' "$1 / 1024"; }
row "peak RSS after cold start, $(fmt_n "$BIG") articles" "$(mib "${HWM[$BIG]}") MiB" "${CORPUS_MIB} MiB of content" \
    "$(calc '%.2f' "${HWM[$BIG]} / 1024 / $CORPUS_MIB")×" "≤ 150 MiB" "$(yn "${HWM[$BIG]} / 1024 <= 150")"
row "peak RSS after wrk and $EDITS edits, $(fmt_n "$BIG") articles" "$(mib "$HWM_EDITS") MiB" "${CORPUS_MIB} MiB of content" \
    "$(calc '%.2f' "$HWM_EDITS / 1024 / $CORPUS_MIB")×" "≤ 150 MiB" "$(yn "$HWM_EDITS / 1024 <= 150")"
read -r PG50 PG99 PGN <<<"$PAGES"
read -r TG50 TG99 TGN <<<"$TAGS"
row "first request of an article page ($PGN pages), $(fmt_n "$BIG") articles" "median $PG50 ms, p99 $PG99 ms" "—" "—" "a few ms" "$(yn "$PG50 <= 5")"
row "first request of a tag feed ($TGN tags), $(fmt_n "$BIG") articles" "median $TG50 ms, p99 $TG99 ms" "—" "—" "—" "—"
row "peak RSS after those page requests, $(fmt_n "$BIG") articles" "$(mib "$HWM_PAGES") MiB" "${CORPUS_MIB} MiB of content" \
    "$(calc '%.2f' "$HWM_PAGES / 1024 / $CORPUS_MIB")×" "≤ 150 MiB" "$(yn "$HWM_PAGES / 1024 <= 150")"
for n in $(printf '%s\n' "$SMALL" "$BIG" | sort -nu); do
    med=$(kv median_ms "${EDIT[$n]}") p99=$(kv p99_ms "${EDIT[$n]}") lost=$(kv lost "${EDIT[$n]}")
    note=
    if [[ ${lost:-0} != 0 ]]; then note=" ($lost edits not served within 30 s)"; fi
    row "edit → served median, $(fmt_n "$n") articles" "$med ms" "debounce_ms = $DEBOUNCE" "$(calc '%.2f' "$med / $DEBOUNCE")×" \
        "≤ $((DEBOUNCE + 10)) ms" "$(yn "$med <= $DEBOUNCE + 10")"
    row "edit → served p99, $(fmt_n "$n") articles" "$p99 ms$note" "debounce_ms = $DEBOUNCE" "$(calc '%.2f' "$p99 / $DEBOUNCE")×" \
        "≤ $((DEBOUNCE + 50)) ms" "$(yn "${lost:-0} == 0 && $p99 <= $DEBOUNCE + 50")"
done
row "edit → served median, $(fmt_n "$MID") articles, with $FANOUT WebSub subscribers of the feed" "$(kv served_median_ms "$PUSHED") ms" \
    "$(kv served_median_ms "$ALONE") ms without subscribers" \
    "$(calc '%.2f' "$(kv served_median_ms "$PUSHED") / $(kv served_median_ms "$ALONE")")×" "unchanged" \
    "$(yn "$(kv served_median_ms "$PUSHED") <= $(kv served_median_ms "$ALONE") + 5")"
row "edit → last of $FANOUT subscribers holds it, $(fmt_n "$MID") articles" \
    "median $(kv last_delivery_median_ms "$PUSHED") ms, max $(kv last_delivery_max_ms "$PUSHED") ms" "debounce_ms = $DEBOUNCE" \
    "$(calc '%.2f' "$(kv last_delivery_median_ms "$PUSHED") / $DEBOUNCE")×" "—" "—"
for kind in plain gzip 304; do
    h=${RPS[herald-$kind]:-0} g=${RPS[nginx-$kind]:-0}
    row "throughput, 50-item feed, $kind" "$(calc '%.0f' "$h") req/s" "$(calc '%.0f' "$g") req/s (nginx)" \
        "$(calc '%.2f' "$h / ($g > 0 ? $g : 1)")×" "≥ 1.0×" "$(yn "$g > 0 && $h / $g >= 1.0")"
done

echo
echo "herald $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'), $(nproc) cores, $(uname -r); $([[ $QUICK == 1 ]] && echo QUICK run || echo full run)"
read -r STEAL_AFTER TICKS_AFTER < <(cpu_ticks)
echo "load average at start: $LOAD_BEFORE; at end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
echo "CPU time stolen by the hypervisor during the run: $(calc '%.1f' "100 * ($STEAL_AFTER - $STEAL_BEFORE) / ($TICKS_AFTER - $TICKS_BEFORE + 1)")% of all CPU time"
echo "feed /$FEED_CAT/rss.xml: $FEED_BYTES bytes ($GZ_BYTES gzip -9); herald serve and herald build bytes identical: $SAME"
echo "edit → served over $EDITS edits each: $(fmt_n "$SMALL"): ${EDIT[$SMALL]}; $(fmt_n "$BIG"): ${EDIT[$BIG]}"
echo "wrk -t1 -c64 -d${WRK_SECS}s on 127.0.0.1; nginx: 1 worker, sendfile, open_file_cache, gzip_static (.gz by gzip -9)"
echo
echo "| measure | herald | reference | ratio | target | met |"
echo "| --- | --- | --- | --- | --- | --- |"
printf '%s\n' "${ROWS[@]}"
if ((${#M_ROWS[@]})); then printf '%s\n' "${M_ROWS[@]}"; fi
