#!/usr/bin/env bash
# Starts the engines of cluster mode for tests: PostgreSQL 15 and a one-node Ceph radosgw
# (monitor + one OSD + gateway), in a fresh temporary directory, on free 127.0.0.1 ports.
# Everything they store is thrown away by stop.sh. Facts behind the settings:
# /work/shared/design/engines.md.
#
#   eval "$(scripts/engines/start.sh [--install] [--store memstore|bluestore])"
#   ... tests read REGISTRY_TEST_* ...
#   scripts/engines/stop.sh            # or: scripts/engines/start.sh stop [DIR]
#
# Standard output carries only `export` lines (also written to $REGISTRY_TEST_ENGINES_DIR/env);
# progress and timings go to standard error.
#
#   --install        apt-get install the packages when a binary is missing
#   --store S        OSD object store: memstore (default; RAM, ~3 s) or bluestore (sparse
#                    file, ~6 s, ~400 MiB RSS; for data larger than RAM should hold)
#   --store-gib N    size of the OSD's store (default 4). A full store makes PUTs hang for
#                    minutes instead of failing, so size it for the data the tests write.
#   --bucket NAME    the bucket to create (default registry-test)
#
# REGISTRY_ENGINES_KEEP_ON_ERROR=1 keeps the directory (and daemons) of a failed start to look at.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ "${1:-}" == stop ]]; then shift; exec "$here/stop.sh" "$@"; fi

install=false store=memstore store_gib=4 bucket=registry-test
while (($#)); do
    case "$1" in
        --install) install=true ;;
        --store) store="$2"; shift ;;
        --store-gib) store_gib="$2"; shift ;;
        --bucket) bucket="$2"; shift ;;
        *) echo "start.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
[[ "$store" == memstore || "$store" == bluestore ]] || { echo "start.sh: --store memstore|bluestore" >&2; exit 2; }

log() { echo "engines: $*" >&2; }
now_ms() { date +%s%3N; }
t0=$(now_ms)

# --- packages ---------------------------------------------------------------------------------
pgbin=/usr/lib/postgresql/15/bin
missing=()
for binary in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph "$pgbin/initdb" "$pgbin/pg_ctl" psql; do
    command -v "$binary" >/dev/null 2>&1 || missing+=("$binary")
done
if ((${#missing[@]})); then
    if ! $install; then
        log "missing ${missing[*]}; run with --install (apt-get, needs root)"
        exit 1
    fi
    log "installing packages for ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ceph-mon ceph-osd radosgw ceph-common postgresql >&2
    t0=$(now_ms)   # start-up time below excludes the installation
fi

# --- directory, ports, secrets ----------------------------------------------------------------
dir="$(mktemp -d "${TMPDIR:-/tmp}/registry-engines.XXXXXX")"
chmod 755 "$dir"                    # the postgres user must reach its data inside
touch "$dir/.registry-engines"      # stop.sh removes only directories carrying this mark
: > "$dir/pids"

on_error() {
    local status=$?
    log "start failed (status $status); logs in $dir:"
    for f in "$dir"/postgres/log "$dir"/postgres-setup.log "$dir"/ceph/log/*.log "$dir"/ceph/*.out; do
        [[ -s "$f" ]] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }
    done
    # Let a PostgreSQL still starting record its PID first, or it would outlive its directory.
    [[ -n "${postgres_job:-}" ]] && { wait "$postgres_job" 2>/dev/null || true; }
    if [[ -z "${REGISTRY_ENGINES_KEEP_ON_ERROR:-}" ]]; then "$here/stop.sh" "$dir" >&2 || true; fi
    exit "$status"
}
trap on_error ERR

taken=" "
free_port() {
    local port
    while :; do
        port=$((20000 + RANDOM % 40000))
        [[ "$taken" == *" $port "* ]] && continue
        ss -Htan "( sport = :$port )" 2>/dev/null | grep -q . && continue
        taken+="$port "
        echo "$port"
        return
    done
}
pg_port=$(free_port); mon_v2_port=$(free_port); mon_v1_port=$(free_port); rgw_port=$(free_port)
pg_password=$(openssl rand -hex 16)
access_key=$(openssl rand -hex 10 | tr a-f A-F)
secret_key=$(openssl rand -hex 20)

# Remembers a daemon for stop.sh: name, PID and the signal that ends it.
record() { echo "$1 $2 $3" >> "$dir/pids"; }

# Polls `$@` every 0.1 s until it succeeds or `limit` seconds pass.
wait_for() {
    local what="$1" limit="$2"; shift 2
    local deadline=$(( $(now_ms) + limit * 1000 ))
    until "$@" >/dev/null 2>&1; do
        (( $(now_ms) < deadline )) || { log "timed out after ${limit} s waiting for $what"; return 1; }
        sleep 0.1
    done
}

# --- PostgreSQL (runs in the background while Ceph starts) ------------------------------------
as_postgres() { if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi; }

start_postgres() {
    local pg="$dir/postgres"
    mkdir -p "$pg"
    printf '%s\n' "$pg_password" > "$pg/pwfile"
    ((EUID == 0)) && chown -R postgres: "$pg"
    as_postgres "$pgbin/initdb" -D "$pg/data" -U postgres --pwfile="$pg/pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync
    # fsync and friends off: a throwaway test cluster, never a real deployment.
    as_postgres "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/log" -w -t 30 start -o \
        "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$pg \
         -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    record postgres "$(head -n 1 "$pg/data/postmaster.pid")" QUIT
    # CREATEDB so that suites can make a database each.
    psql -h "$pg" -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
        -c "CREATE ROLE registry LOGIN CREATEDB PASSWORD '$pg_password'" \
        -c "CREATE DATABASE registry OWNER registry"
    echo "ready after $(( $(now_ms) - t0 )) ms"
}
start_postgres > "$dir/postgres-setup.log" 2>&1 < /dev/null &
postgres_job=$!

# --- Ceph: monitor, one OSD, radosgw ---------------------------------------------------------
ceph_dir="$dir/ceph"
mkdir -p "$ceph_dir/run" "$ceph_dir/log" "$ceph_dir/mon.a" "$ceph_dir/osd.0" "$ceph_dir/client.rgw.a"
export CEPH_CONF="$ceph_dir/ceph.conf"
fsid=$(uuidgen); osd_uuid=$(uuidgen)
mon_addrs="[v2:127.0.0.1:$mon_v2_port,v1:127.0.0.1:$mon_v1_port]"

if [[ "$store" == memstore ]]; then
    store_conf="osd objectstore = memstore
memstore device bytes = $((store_gib << 30))"
else
    # The block file must live outside the OSD's data dir (ELOOP otherwise); it is sparse.
    store_conf="osd objectstore = bluestore
bluestore block path = $ceph_dir/\$name.block
bluestore block create = true
bluestore block size = $((store_gib << 30))
bluestore fsck on mkfs = false
osd memory target = 939524096"
fi

cat > "$CEPH_CONF" <<CONF
[global]
fsid = $fsid
mon host = $mon_addrs
public addr = 127.0.0.1
ms bind ipv6 = false
# Without cephx, radosgw's default "secure" mon-client mode loops forever on error -13.
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
run dir = $ceph_dir/run
admin socket = $ceph_dir/run/\$name.asok
pid file = $ceph_dir/run/\$name.pid
log file = $ceph_dir/log/\$name.log
crash dir = $ceph_dir/crash
mon data = $ceph_dir/\$name
osd data = $ceph_dir/\$name
rgw data = $ceph_dir/\$name
# One node: every pool has one copy on the one OSD.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail crit = 1
mon data avail warn = 2
# radosgw creates ~7 pools one after another; proposing every 0.1 s instead of 1 s saves ~10 s.
paxos propose interval = 0.1
$store_conf

[client.rgw.a]
# Without tcp_nodelay a small GET on a kept-alive connection stalls ~40 ms.
rgw frontends = beast endpoint=127.0.0.1:$rgw_port tcp_nodelay=1
CONF

# Starts a daemon in the foreground of a background job, its output in a file, its PID kept.
daemon() {
    local name="$1"; shift
    "$@" -f > "$ceph_dir/$name.out" 2>&1 < /dev/null &
    record "$name" $! KILL
    disown $!   # stop.sh ends it; no job-control notice when it dies
}

monmaptool --create --fsid "$fsid" --addv a "$mon_addrs" "$ceph_dir/monmap" > "$ceph_dir/monmaptool.out"
ceph-mon --mkfs -i a --monmap "$ceph_dir/monmap" > "$ceph_dir/mon-mkfs.out" 2>&1
daemon mon.a ceph-mon -i a
ceph-osd --no-mon-config -i 0 --mkfs --osd-uuid "$osd_uuid" > "$ceph_dir/osd-mkfs.out" 2>&1
osd_id=$(ceph --connect-timeout 20 osd new "$osd_uuid")
[[ "$osd_id" == 0 ]] || { log "ceph osd new gave '$osd_id', not 0"; false; }
daemon osd.0 ceph-osd -i 0
osd_up() { ceph --connect-timeout 5 osd dump | grep -q '^osd\.0 up'; }
wait_for "osd.0 up" 60 osd_up
log "ceph osd up after $(( $(now_ms) - t0 )) ms"
daemon client.rgw.a radosgw -n client.rgw.a
wait_for "radosgw on port $rgw_port" 60 curl -fsS -o /dev/null "http://127.0.0.1:$rgw_port/"
radosgw-admin user create --uid=registry --display-name=registry \
    --access-key="$access_key" --secret="$secret_key" > "$ceph_dir/user.out"

# The bucket, by a SigV2-signed PUT: needs nothing but curl and openssl.
create_bucket() {
    local date signature
    date=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')
    signature=$(printf 'PUT\n\n\n%s\n/%s' "$date" "$bucket" | openssl dgst -sha1 -hmac "$secret_key" -binary | base64)
    curl -fsS -X PUT -H "Date: $date" -H "Authorization: AWS $access_key:$signature" -H "Content-Length: 0" \
        "http://127.0.0.1:$rgw_port/$bucket"
}
create_bucket > "$ceph_dir/bucket.out" 2>&1
log "radosgw ready after $(( $(now_ms) - t0 )) ms ($store)"

wait "$postgres_job" || { log "postgres failed"; false; }
log "postgres $(tail -n 1 "$dir/postgres-setup.log")"

cat > "$dir/env" <<ENV
export REGISTRY_TEST_ENGINES_DIR=$dir
export REGISTRY_TEST_POSTGRES_URL=postgres://registry:$pg_password@127.0.0.1:$pg_port/registry
export REGISTRY_TEST_S3_ENDPOINT=http://127.0.0.1:$rgw_port
export REGISTRY_TEST_S3_ACCESS_KEY=$access_key
export REGISTRY_TEST_S3_SECRET_KEY=$secret_key
export REGISTRY_TEST_S3_BUCKET=$bucket
export REGISTRY_TEST_S3_REGION=us-east-1
export CEPH_CONF=$CEPH_CONF
ENV
trap - ERR
log "both up after $(( $(now_ms) - t0 )) ms; stop with: $here/stop.sh $dir"
cat "$dir/env"
