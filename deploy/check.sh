#!/usr/bin/env bash
# Runs two herald replicas behind nginx (deploy/nginx.conf) on 127.0.0.1 and
# checks the setup live:
#
#   1. both replicas send identical bytes and ETags, identity, gzip and br;
#   2. through nginx: MISS then HIT per encoding, 304 to a client's
#      If-None-Match, and after max_age a revalidation that herald answers
#      with 304 while the client still gets its 200;
#   3. /websub and /healthz pass through nginx uncached;
#   4. an edit (atomic rename) is served through nginx within
#      max_age + debounce (+ nginx's one-second clock and some slack);
#   5. with one replica killed, every URL is still served, fresh, by the other.
#
# It prints one line per check and exits non-zero if any fails.
#
# Environment:
#   HERALD  herald binary (default target/release/herald, built if missing)
#   NGINX   nginx binary (default: nginx from PATH, else /usr/sbin/nginx)
#   KEEP=1  keep the temp directory (logs, configs, responses) afterwards
#
# Everything it starts listens on 127.0.0.1 and is stopped by PID on exit.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
max_age=2      # server.max_age, seconds
debounce_ms=50 # content.debounce_ms

# --- tools -------------------------------------------------------------------

if [[ -n ${HERALD:-} ]]; then
    [[ -x $HERALD ]] || { echo "check.sh: HERALD=$HERALD is not executable" >&2; exit 2; }
else
    HERALD=$repo/target/release/herald
    if [[ ! -x $HERALD ]]; then
        echo "check.sh: building $HERALD" >&2
        (cd "$repo" && cargo build --release --quiet)
    fi
fi
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[[ -x $NGINX ]] || { echo "check.sh: nginx not found (set NGINX, or install nginx-light)" >&2; exit 2; }
for tool in curl gzip sed cmp; do
    command -v "$tool" >/dev/null || { echo "check.sh: $tool is required" >&2; exit 2; }
done

# --- processes and clean-up --------------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/herald-deploy.XXXXXX")
pids=()

stop() { # stop PID: TERM, then KILL after 5 s
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$? i
    # Last started first: nginx stops sending before the replicas go.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        stop "${pids[i]}"
    done
    if [[ $status -ne 0 ]]; then
        for log in "$tmp"/a/herald.log "$tmp"/b/herald.log "$tmp"/nginx/error.log "$tmp"/nginx/access.log; do
            [[ -s $log ]] || continue
            echo "--- last lines of $log" >&2
            tail -n 15 "$log" >&2
        done
    fi
    if [[ ${KEEP:-} == 1 ]]; then
        echo "check.sh: kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }

# wait_for SECONDS WHAT COMMAND...: run COMMAND until it succeeds, at most
# SECONDS; a COMMAND exit status of 2 means it never will, and ends the wait.
wait_for() {
    local deadline=$(($(now_ms) + $1 * 1000)) what=$2 rc
    shift 2
    while :; do
        rc=0
        "$@" || rc=$?
        ((rc != 0)) || return 0
        ((rc != 2)) || return 1
        if (($(now_ms) > deadline)); then
            echo "check.sh: timed out waiting for $what" >&2
            return 1
        fi
        sleep 0.05
    done
}

# --- HTTP helpers ------------------------------------------------------------

mkdir -p "$tmp/r"
status=

# get NAME URL [curl args]: response into $tmp/r/NAME.{head,body}, code into $status
get() {
    local name=$1 url=$2
    shift 2
    status=$(curl -sS --max-time 5 -o "$tmp/r/$name.body" -D "$tmp/r/$name.head" \
        -w '%{http_code}' "$@" "$url" 2>"$tmp/r/$name.err") || true
}

# hdr NAME HEADER: that header's value in response NAME ("" when absent)
hdr() { sed -n "s/^$2:[[:space:]]*//Ip" "$tmp/r/$1.head" | tr -d '\r' | tail -n 1; }

ae() { echo "Accept-Encoding: $1"; }

# expected Content-Encoding for an encoding name
ce_for() { [[ $1 == identity ]] && echo "" || echo "$1"; }

# --- set-up ------------------------------------------------------------------

cp -R "$repo/content" "$tmp/content"

# The port nginx listens on is chosen before anything starts, because it is
# in the replicas' base_url. It is taken below the kernel's ephemeral range,
# where no outgoing connection (or the TIME_WAIT socket of one) can hold it;
# port_in_use catches a listener. Should nginx still fail to bind, everything
# started is stopped and the set-up is tried again on another port.
read -r ephemeral_low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || ephemeral_low=32768
((ephemeral_low > 12000)) || ephemeral_low=32768
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { # prints a loopback port that nothing listens on
    local i p
    for ((i = 0; i < 50; i++)); do
        p=$((10000 + RANDOM % (ephemeral_low - 10000)))
        if ! port_in_use "$p"; then echo "$p"; return 0; fi
    done
    echo "check.sh: no free port found" >&2
    return 1
}

# Both replicas share the content and every setting; only the WebSub state
# directory is per replica (nginx sends /websub to replica a).
write_configs() {
    local r
    for r in a b; do
        mkdir -p "$tmp/$r"
        cat >"$tmp/$r/herald.toml" <<EOF
[site]
title = "河阳新闻 Heyang News"
description = "河阳市新闻网 — city news from Heyang"
base_url = "$base"
author = "河阳新闻网"
id_authority = "news.heyang.example"

[server]
listen = "127.0.0.1:0"
max_age = $max_age

[content]
dir = "../content"
debounce_ms = $debounce_ms

[websub]
builtin = true
state_dir = "state"

[categories.politics]
title = "时政 Politics"

[categories."社会"]
title = "社会 Society"
EOF
    done
}

declare -A addr pid_of
replica_addr() { # replica_addr R: sets addr[R] once the replica has logged its address
    local a
    kill -0 "${pid_of[$1]}" 2>/dev/null || { echo "check.sh: replica $1 exited" >&2; return 2; }
    a=$(sed -n 's/.*"address":"\(127\.0\.0\.1:[0-9]*\)".*/\1/p' "$tmp/$1/herald.log" | head -n 1)
    [[ -n $a ]] && addr[$1]=$a
}
ready() { # ready URL: 200 from URL
    [[ $(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "$1") == 200 ]]
}
start_replicas() {
    local r
    for r in a b; do
        "$HERALD" --log-format json serve --config "$tmp/$r/herald.toml" >"$tmp/$r/herald.log" 2>&1 &
        pid_of[$r]=$!
        pids+=("$!")
    done
    for r in a b; do
        wait_for 10 "replica $r to listen" replica_addr "$r"
        wait_for 10 "replica $r" ready "http://${addr[$r]}/healthz"
    done
}

nginx_up() { # nginx answers /healthz; fails at once if it has exited
    kill -0 "$nginx_pid" 2>/dev/null || { echo "check.sh: nginx exited" >&2; return 2; }
    ready "$base/healthz"
}
start_nginx() { # starts nginx on $nginx_port and waits for it to answer
    local user_line
    mkdir -p "$tmp/nginx/tmp" "$tmp/nginx/cache"
    if [[ $EUID -eq 0 ]]; then
        user_line='user root;' # workers must reach the root-owned temp directory
    else
        user_line=''           # an unprivileged master cannot switch users
    fi
    sed -e "s|^user .*;|$user_line|" \
        -e "s|@PREFIX@|$tmp/nginx|g" \
        -e "s|@LISTEN@|127.0.0.1:$nginx_port|g" \
        -e "s|@REPLICA_A@|${addr[a]}|g" \
        -e "s|@REPLICA_B@|${addr[b]}|g" \
        -e "s|^worker_processes .*;|worker_processes 1;|" \
        "$repo/deploy/nginx.conf" >"$tmp/nginx/nginx.conf"
    nginx_args=(-p "$tmp/nginx/" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log")
    "$NGINX" "${nginx_args[@]}" -t -q
    "$NGINX" "${nginx_args[@]}" -g 'daemon off;' &
    nginx_pid=$!
    pids+=("$nginx_pid")
    wait_for 10 "nginx" nginx_up
}

stop_all() { # stops everything started so far, last first
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        stop "${pids[i]}"
    done
    pids=()
}

for attempt in 1 2 3; do
    nginx_port=$(free_port)
    base=http://127.0.0.1:$nginx_port
    write_configs
    start_replicas
    start_nginx && break
    ((attempt < 3)) || exit 1
    echo "check.sh: nginx could not start on port $nginx_port; trying another port" >&2
    stop_all
    mv "$tmp/nginx/error.log" "$tmp/nginx/error.log.$attempt" 2>/dev/null || true
done

# --- checks ------------------------------------------------------------------

failures=0
pass() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; failures=$((failures + 1)); }
detail() { printf '       %s\n' "$*"; }

cjk=/%E7%A4%BE%E4%BC%9A # 社会
paths=(/rss.xml /atom.xml /feed.json
    /politics/rss.xml /politics/atom.xml "$cjk/rss.xml" "$cjk/atom.xml" "$cjk/feed.json"
    / "$cjk/" /politics/river-cleanup-plan.html /feeds.opml /tags/)
encodings=(identity gzip br)
key() { echo "$1" | tr -c 'A-Za-z0-9\n' '_'; } # file-name-safe path

# fetch_encoded NAME URL ENC: get with that encoding and check Content-Encoding.
# herald serves a fresh change uncompressed for a few milliseconds, until
# its compressed bodies are ready; this waits that out.
fetch_encoded() {
    local name=$1 url=$2 enc=$3 deadline=$(($(now_ms) + 3000))
    while :; do
        get "$name" "$url" -H "$(ae "$enc")"
        if [[ $status == 200 && $(hdr "$name" content-encoding) == "$(ce_for "$enc")" ]]; then
            return 0
        fi
        (($(now_ms) < deadline)) || return 1
        sleep 0.05
    done
}

# 1. Replicas agree, byte for byte, every encoding.
check_replicas() {
    local n=0 bad=0 p enc k
    for p in "${paths[@]}"; do
        for enc in "${encodings[@]}"; do
            k=$(key "$p")-$enc
            if ! fetch_encoded "a$k" "http://${addr[a]}$p" "$enc" ||
                ! fetch_encoded "b$k" "http://${addr[b]}$p" "$enc"; then
                detail "$p ($enc): no 200 with Content-Encoding '$(ce_for "$enc")' from both"
                bad=$((bad + 1)); continue
            fi
            n=$((n + 1))
            if ! cmp -s "$tmp/r/a$k.body" "$tmp/r/b$k.body"; then
                detail "$p ($enc): bodies differ"; bad=$((bad + 1))
            elif [[ $(hdr "a$k" etag) != "$(hdr "b$k" etag)" || -z $(hdr "a$k" etag) ]]; then
                detail "$p ($enc): ETags differ: $(hdr "a$k" etag) vs $(hdr "b$k" etag)"; bad=$((bad + 1))
            elif [[ $enc == gzip ]] &&
                ! gzip -dc <"$tmp/r/a$k.body" | cmp -s - "$tmp/r/a$(key "$p")-identity.body"; then
                detail "$p: gzip body does not decompress to the identity body"; bad=$((bad + 1))
            fi
        done
    done
    if ((bad == 0)); then
        pass "1 replicas agree: ${#paths[@]} URLs x identity/gzip/br, $n pairs with identical bytes and ETags"
    else
        fail "1 replicas disagree on $bad of $((${#paths[@]} * 3)) responses"
    fi
}

# expect NAME WHAT STATUS CACHE [ENC]: the last response through nginx
expect() {
    local name=$1 what=$2 want_status=$3 want_cache=$4 enc=${5:-} got_cache
    got_cache=$(hdr "$name" x-cache-status)
    if [[ $status != "$want_status" ]]; then
        detail "$what: status $status, expected $want_status"; return 1
    fi
    if [[ -n $want_cache && ! $got_cache =~ ^($want_cache)$ ]]; then
        detail "$what: X-Cache-Status '$got_cache', expected $want_cache"; return 1
    fi
    if [[ -n $enc && $want_status == 200 && $(hdr "$name" content-encoding) != "$(ce_for "$enc")" ]]; then
        detail "$what: Content-Encoding '$(hdr "$name" content-encoding)', expected '$(ce_for "$enc")'"; return 1
    fi
}

# same_as_replica NAME PATH ENC: body and ETag equal replica a's from check 1
same_as_replica() {
    local k
    k=a$(key "$2")-$3
    if ! cmp -s "$tmp/r/$1.body" "$tmp/r/$k.body" || [[ $(hdr "$1" etag) != "$(hdr "$k" etag)" ]]; then
        detail "$2 ($3) through nginx: not the replicas' bytes and ETag"
        return 1
    fi
}

# log_line NAME: nginx's access-log line for response NAME (by X-Request-ID)
log_line() {
    local id
    id=$(hdr "$1" x-request-id)
    [[ -n $id ]] && grep -F "id=$id " "$tmp/nginx/access.log" | tail -n 1
}

# 2. The cache: per-encoding entries, client 304s, revalidation by ETag.
check_cache() {
    local p=/politics/rss.xml ok=1 line t0 waited
    get c1 "$base$p" -H "$(ae identity)"
    expect c1 "first identity request" 200 MISS identity && same_as_replica c1 "$p" identity || ok=0
    get c2 "$base$p" -H "$(ae identity)"
    expect c2 "second identity request" 200 HIT identity && same_as_replica c2 "$p" identity || ok=0
    get c3 "$base$p" -H "$(ae 'gzip, deflate')"
    expect c3 "first gzip request" 200 MISS gzip && same_as_replica c3 "$p" gzip || ok=0
    get c4 "$base$p" -H "$(ae 'gzip')"
    expect c4 "gzip, other spelling" 200 HIT gzip && same_as_replica c4 "$p" gzip || ok=0
    get c5 "$base$p" -H "$(ae 'gzip, deflate, br')"
    expect c5 "first br request" 200 MISS br && same_as_replica c5 "$p" br || ok=0
    get c6 "$base$p" -H "$(ae 'br;q=1.0, gzip;q=0.8')"
    expect c6 "br, other spelling" 200 HIT br && same_as_replica c6 "$p" br || ok=0
    get c7 "$base$p" -H "$(ae 'br;q=0, gzip')"
    expect c7 "br refused with q=0" 200 HIT gzip || ok=0
    get c8 "$base$p" -H "$(ae identity)"
    [[ $(hdr c8 vary) == Accept-Encoding ]] || { detail "Vary through nginx: '$(hdr c8 vary)'"; ok=0; }

    # A client's own revalidation, answered by nginx from its cache.
    get c9 "$base$p" -H "$(ae identity)" -H "If-None-Match: $(hdr c2 etag)"
    expect c9 "client If-None-Match (identity)" 304 HIT || ok=0
    get c10 "$base$p" -H "$(ae br)" -H "If-None-Match: $(hdr c5 etag)"
    expect c10 "client If-None-Match (br)" 304 HIT || ok=0
    get c11 "$base$p" -H "$(ae gzip)" -H "If-None-Match: $(hdr c5 etag)"
    expect c11 "br ETag on a gzip request" 200 HIT gzip || ok=0

    # After max_age the entry is stale; the next request revalidates it with
    # the replica. nginx counts whole seconds, so this takes up to max_age + 1.
    t0=$(now_ms)
    went_upstream() {
        get rv "$base$p" -H "$(ae identity)"
        [[ $(hdr rv x-cache-status) != HIT ]]
    }
    if wait_for $((max_age + 2)) "the cached entry to expire" went_upstream; then
        waited=$(($(now_ms) - t0))
        if expect rv "request after expiry" 200 REVALIDATED identity && same_as_replica rv "$p" identity; then
            line=$(log_line rv) || true
            if [[ $line != *upstream_status=304\ * ]]; then
                detail "revalidation: upstream did not answer 304: ${line:-no log line}"; ok=0
            fi
        else
            ok=0
        fi
    else
        ok=0
    fi
    if ((ok)); then
        pass "2 nginx cache: MISS/HIT per encoding (4 spellings, 3 entries), client If-None-Match -> 304, stale after ${waited} ms -> revalidated (upstream 304, client 200, same bytes)"
    else
        fail "2 nginx cache"
    fi
}

# 3. Uncached routes: the hub and health pass straight through.
check_uncached() {
    local ok=1 topic form i line
    topic=$base/rss.xml
    # A loopback callback is refused (websub.allow_private_callbacks is
    # false): herald's 400 proves the POST and its body reached it.
    form="hub.mode=subscribe&hub.topic=$topic&hub.callback=http://127.0.0.1:9/callback"
    for i in 1 2; do
        get w$i "$base/websub" --data "$form"
        line=$(log_line w$i) || true
        if [[ $status != 400 || -n $(hdr w$i x-cache-status) || $line != *upstream=${addr[a]}\ * ]]; then
            detail "POST /websub #$i: status $status, cache '$(hdr w$i x-cache-status)', log: ${line:-none}"; ok=0
        fi
        get h$i "$base/healthz"
        line=$(log_line h$i) || true
        if [[ $status != 200 || $line != *upstream_status=200\ * ]]; then
            detail "GET /healthz #$i: status $status, log: ${line:-none}"; ok=0
        fi
    done
    if ((ok)); then
        pass "3 uncached: POST /websub reaches replica a each time (herald's 400: $(tr -d '\r\n' <"$tmp/r/w1.body" | cut -d, -f1)), /healthz from upstream each time"
    else
        fail "3 uncached routes"
    fi
}

# 4. An edit, atomically renamed into place, reaches clients through nginx.
check_edit() {
    local file=$tmp/content/politics/river-cleanup-plan.md title t0 elapsed limit ok=1
    title="Canal plan approved by council, check $$-$RANDOM"
    sed "s|^title: .*|title: \"$title\"|" "$file" >"$tmp/content/politics/.river-cleanup-plan.md.new"
    t0=$(now_ms)
    mv -f "$tmp/content/politics/.river-cleanup-plan.md.new" "$file"
    limit=$((max_age * 1000 + 1000 + debounce_ms + 1000)) # + nginx's 1 s clock + slack
    shows_title() {
        get e "$base/politics/rss.xml" -H "$(ae identity)"
        [[ $status == 200 ]] && grep -qF "$title" "$tmp/r/e.body"
    }
    if wait_for $((limit / 1000 + 3)) "the edit through nginx" shows_title; then
        elapsed=$(($(now_ms) - t0))
        ((elapsed <= limit)) || { detail "edit took $elapsed ms, over $limit ms"; ok=0; }
    else
        elapsed=timeout; ok=0
    fi
    # Both replicas carry it, and still agree.
    both_updated() {
        get ea "http://${addr[a]}/politics/rss.xml" -H "$(ae br)"
        get eb "http://${addr[b]}/politics/rss.xml" -H "$(ae br)"
        [[ $(hdr ea content-encoding) == br && $(hdr ea etag) == "$(hdr eb etag)" &&
            $(hdr ea etag) != "$(hdr "a$(key /politics/rss.xml)-br" etag)" ]]
    }
    wait_for 3 "both replicas to agree on the edit" both_updated || { detail "replicas disagree after the edit"; ok=0; }
    if ((ok)); then
        pass "4 edit: new title served through nginx after $elapsed ms (bound $limit ms = max_age + 1 s + debounce + 1 s); replicas agree on the new br ETag"
    else
        fail "4 edit ($elapsed ms)"
    fi
}

# 5. One replica killed: everything is still served, fresh, by the other.
check_failover() {
    local ok=1 p enc k n=0 retried line
    kill -KILL "${pid_of[a]}"
    wait "${pid_of[a]}" 2>/dev/null || true
    for p in /healthz /healthz /healthz /healthz; do
        get f "$base$p"
        [[ $status == 200 ]] || { detail "/healthz after the kill: $status"; ok=0; }
    done
    # Let every cached entry go stale, so each answer below comes from a replica.
    sleep $((max_age + 1))
    for p in "${paths[@]}"; do
        for enc in "${encodings[@]}"; do
            k=f$(key "$p")-$enc
            get "$k" "$base$p" -H "$(ae "$enc")"
            n=$((n + 1))
            if ! expect "$k" "$p ($enc) with a replica down" 200 'MISS|EXPIRED|REVALIDATED' "$enc"; then
                ok=0; continue
            fi
            get "b$k" "http://${addr[b]}$p" -H "$(ae "$enc")"
            if ! cmp -s "$tmp/r/$k.body" "$tmp/r/b$k.body"; then
                detail "$p ($enc): nginx's body differs from replica b's"; ok=0
            fi
        done
    done
    retried=$(grep -cF "upstream=${addr[a]}, ${addr[b]} " "$tmp/nginx/access.log" || true)
    if ((ok)); then
        pass "5 failover: replica a killed; $n feed/page responses all 200 and fresh from replica b ($retried requests retried from a to b)"
    else
        fail "5 failover"
    fi
}

started=$(now_ms)
check_replicas
check_cache
check_uncached
check_edit
check_failover
echo "$((5 - failures)) of 5 checks passed in $((($(now_ms) - started) / 1000)).$(((($(now_ms) - started) % 1000) / 100)) s (herald $("$HERALD" --version | cut -d' ' -f2), $("$NGINX" -v 2>&1 | sed 's/.*: //'))"
((failures == 0))
