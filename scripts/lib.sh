# Shared helpers for glassheap's scripts (sourced, not run).
#
# Every script works against a private, relocated copy of the system PostgreSQL 15
# under target/pgsandbox: installing the extension there never touches the system
# directories, never overwrites a library a running server has mapped, and lets several
# checkouts build and test side by side. PostgreSQL computes its share/lib directories
# relative to the binary, so a copy of /usr/lib/postgresql/15 + /usr/share/postgresql/15
# is a complete installation.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SANDBOX="$REPO_ROOT/target/pgsandbox"
PG_PREFIX="$SANDBOX/usr/lib/postgresql/15"
PG_BIN="$PG_PREFIX/bin"
PG_CONFIG="$PG_BIN/pg_config"
PGXS_TEST="$PG_PREFIX/lib/pgxs/src/test"
export PGRX_HOME="$REPO_ROOT/target/pgrx-home"
# Servers started from here must not inherit RUST_BACKTRACE: pgrx would append a Rust
# backtrace to the DETAIL of every ERROR raised inside an extension call, which makes
# expected test output depend on the caller's environment.
unset RUST_BACKTRACE RUST_LIB_BACKTRACE

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# A port derived from the checkout path, so parallel checkouts do not collide.
base_port() {
    local h
    h=$(printf '%s' "$REPO_ROOT" | cksum | cut -d' ' -f1)
    echo $(( 55000 + h % 4000 ))
}

# Create (or refresh) the private PostgreSQL copy and the pgrx configuration.
ensure_sandbox() {
    local sys_prefix=/usr/lib/postgresql/15 sys_share=/usr/share/postgresql/15
    [ -x "$sys_prefix/bin/postgres" ] || die "PostgreSQL 15 is not installed; run scripts/setup"
    if [ ! -x "$PG_BIN/postgres" ] || [ "$sys_prefix/bin/postgres" -nt "$PG_BIN/postgres" ]; then
        log "creating private PostgreSQL copy in target/pgsandbox"
        rm -rf "$SANDBOX"
        mkdir -p "$SANDBOX/usr/lib/postgresql" "$SANDBOX/usr/share/postgresql"
        cp -a "$sys_prefix" "$SANDBOX/usr/lib/postgresql/"
        cp -a "$sys_share" "$SANDBOX/usr/share/postgresql/"
        # headers are not copied: pg_config reports the relocated include path
        ln -sfn /usr/include "$SANDBOX/usr/include"
    fi
    mkdir -p "$PGRX_HOME"
    printf '[configs]\npg15 = "%s"\n' "$PG_CONFIG" > "$PGRX_HOME/config.toml"
    # the postgres user runs servers out of this tree
    chmod a+rX "$REPO_ROOT" "$REPO_ROOT/target" 2>/dev/null || true
    chmod -R a+rX "$SANDBOX"
}

# Build the extension in release mode and install it into the sandbox. `install_extension
# test` (scripts/test) adds the test-only cargo feature fault-injection (the
# glassheap.fault_injection setting the crash tests use); without it -- the demo, the
# benchmarks, and the build users get -- there is no such setting.
install_extension() {
    local features=() what="release"
    if [ "${1:-}" = test ]; then
        features=(--features fault-injection)
        what="release, fault-injection"
    fi
    ensure_sandbox
    log "building and installing glassheap ($what) into the sandbox"
    (cd "$REPO_ROOT" && cargo pgrx install --release "${features[@]}" --pg-config "$PG_CONFIG" >"$REPO_ROOT/target/install.log" 2>&1) ||
        { tail -40 "$REPO_ROOT/target/install.log"; die "cargo pgrx install failed (target/install.log)"; }
    chmod -R a+rX "$SANDBOX"
}

run_as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

# make_scratch NAME: a postgres-owned scratch directory in $SCRATCH, removed when the
# calling shell exits (not run in a subshell, so the cleanup list stays in this shell).
CLUSTERS=()
SCRATCH_DIRS=()
SCRATCH=""
make_scratch() {
    SCRATCH=$(mktemp -d "/tmp/glassheap-$1.XXXXXX")
    chmod 755 "$SCRATCH"
    chown postgres:postgres "$SCRATCH" 2>/dev/null || true
    SCRATCH_DIRS+=("$SCRATCH")
}

cleanup_all() {
    local d
    for d in "${CLUSTERS[@]}"; do
        [ -f "$d/data/postmaster.pid" ] && run_as_postgres "$PG_BIN/pg_ctl" -D "$d/data" -m immediate -w stop >/dev/null 2>&1
    done
    for d in "${SCRATCH_DIRS[@]}"; do rm -rf "$d"; done
}
trap cleanup_all EXIT INT TERM

# start_cluster DIR PORT [extra conf lines...]: initdb as postgres and start a server
# with glassheap preloaded; the socket lives in DIR.
start_cluster() {
    local dir=$1 port=$2
    shift 2
    run_as_postgres "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log"; die "initdb failed"; }
    {
        echo "shared_preload_libraries = 'glassheap'"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$dir'"
        echo "port = $port"
        echo "max_prepared_transactions = 10"
        echo "fsync = off"
        for line in "$@"; do echo "$line"; done
    } >> "$dir/data/postgresql.conf"
    CLUSTERS+=("$dir")
    run_as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null ||
        { cat "$dir/server.log"; die "server did not start"; }
}

stop_cluster() {
    local dir=$1
    run_as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}
