#!/usr/bin/env bash
# ParameterServer.Fast build entry point.
#   ./build.sh            build the native shim and the managed code, publish the CLI to artifacts/psf/psf
#   ./build.sh test       build, then run ctest and every NUnit project; ends with "N passed, N failed, N skipped"
#   ./build.sh run [...]  the main job: `psf local` with its defaults (extra arguments go to psf local)
#   ./build.sh bench [--check] [--quick] [--full]
#                         run the benchmarks; --check compares ratios with perf/baselines/*.json,
#                         --full also runs the BenchmarkDotNet suites of perf/
#   ./build.sh soak [...] a leak watch of several minutes (not in CI): `psf soak`, which runs sum-check under
#                         psf local, samples every node process's RSS and open descriptors and fails on growth
#   ./build.sh clean      remove artifacts and build outputs
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
artifacts="$root/artifacts"
config="${PSF_CONFIGURATION:-Release}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

require_tool() { # name, what to install
    command -v "$1" >/dev/null 2>&1 || die "'$1' not found: install $2 (e.g. apt-get install $2)"
}

# Installs a Debian package when the file it provides is missing. Optional packages only widen
# what is built or can run (the RDMA verbs transport, the Fashion-MNIST data of --app mlp), so a
# failure here is reported and the build goes on.
ensure_deb_optional() { # package, a file it installs
    [ -e "$2" ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing $1 (provides $2)"
        if ! { apt-get install -y -qq "$1" >/dev/null 2>&1 ||
               { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$1" >/dev/null 2>&1; }; }; then
            say "could not install $1; continuing without it"
        fi
    else
        say "$1 is not installed (needs root to apt-get install); continuing without it"
    fi
}

build_native() {
    require_tool cmake cmake
    require_tool cc gcc
    ensure_deb_optional libibverbs-dev /usr/include/infiniband/verbs.h
    ensure_deb_optional dataset-fashion-mnist /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
    # nft drops packets at random for the chaos tests where the kernel has no tc netem.
    ensure_deb_optional nftables /usr/sbin/nft
    say "native shim (CMake)"
    cmake -S native -B "$artifacts/native-build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$artifacts/native-build" -j "$(nproc)" >/dev/null
    mkdir -p "$artifacts/native"
    cp "$artifacts/native-build/libpsf_native.so" "$artifacts/native/"
}

build_managed() {
    require_tool dotnet "the .NET 10 SDK (dotnet-sdk-10.0)"
    say "managed build ($config)"
    dotnet build ParameterServer.Fast.sln -c "$config" -nologo -clp:ErrorsOnly -v:quiet
    say "publishing the CLI to artifacts/psf/psf"
    dotnet publish src/ParameterServer.Fast.Cli -c "$config" -o "$artifacts/psf" --no-build -nologo -v:quiet
}

build_all() { build_native; build_managed; }

# Runs one `dotnet test` and leaves a .trx in $results; returns dotnet's status.
run_dotnet_tests() { # target, [extra args...]
    local target="$1"; shift
    dotnet test "$target" -c "$config" --no-build -nologo -v:quiet \
        --results-directory "$results" --logger "trx" "$@"
}

count_trx() { # adds the Counters of every .trx to passed/failed/skipped
    local file total=0 p=0 f=0 n=0
    for file in "$results"/*.trx; do
        [ -e "$file" ] || continue
        local line
        line=$(grep -o '<Counters [^>]*>' "$file" | head -1)
        p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$line")
        f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$line")
        total=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$line")
        # Skipped (ignored) tests count as neither executed nor "notExecuted" in a trx: total − executed.
        local executed; executed=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$line")
        n=$(( ${total:-0} - ${executed:-${total:-0}} ))
        local errors; errors=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$line")
        local timeout; timeout=$(sed -n 's/.* timeout="\([0-9]*\)".*/\1/p' <<<"$line")
        passed=$((passed + ${p:-0}))
        failed=$((failed + ${f:-0} + ${errors:-0} + ${timeout:-0}))
        skipped=$((skipped + ${n:-0}))
    done
}

run_tests() {
    build_all
    results="$artifacts/test-results"
    rm -rf "$results"; mkdir -p "$results"
    passed=0; failed=0; skipped=0
    local status=0

    say "native tests (ctest)"
    local ctest_out
    ctest_out=$(ctest --test-dir "$artifacts/native-build" --output-on-failure 2>&1) || status=1
    printf '%s\n' "$ctest_out" | tail -n 20
    local c_total c_failed
    c_total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' <<<"$ctest_out")
    c_failed=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' <<<"$ctest_out")
    passed=$((passed + ${c_total:-0} - ${c_failed:-0})); failed=$((failed + ${c_failed:-0}))

    say "managed tests (NUnit)"
    run_dotnet_tests ParameterServer.Fast.sln || status=1

    # The kernels again on narrower instruction sets, so every fallback path is exercised here
    # whatever the CPU: no AVX-512, no AVX2, and no hardware intrinsics at all.
    local isa
    for isa in DOTNET_EnableAVX512 DOTNET_EnableAVX2 DOTNET_EnableHWIntrinsic; do
        say "kernel tests with $isa=0"
        env "$isa=0" dotnet test tests/ParameterServer.Fast.Core.Tests -c "$config" --no-build -nologo -v:quiet \
            --results-directory "$results" --logger "trx;LogFileName=kernels-$isa.trx" \
            --filter "Category=Kernels" || status=1
    done

    count_trx
    if [ "$status" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
    echo
    echo "$passed passed, $failed failed, $skipped skipped"
    return "$status"
}

run_main() {
    build_all
    say "psf local (an embedded cluster on this machine)"
    exec "$artifacts/psf/psf" local "$@"
}

run_bench() {
    local full=0 args=()
    for a in "$@"; do
        if [ "$a" = "--full" ]; then full=1; else args+=("$a"); fi
    done
    build_all
    "$artifacts/psf/psf" bench all --out "$artifacts/bench" "${args[@]}"
    if [ "$full" = 1 ]; then
        say "BenchmarkDotNet suites (perf/)"
        (cd "$artifacts" && dotnet run -c "$config" --project "$root/perf/ParameterServer.Fast.Benchmarks" -- --filter '*' --join)
    fi
}

verb="${1:-build}"
[ $# -gt 0 ] && shift
case "$verb" in
    build) build_all; say "done: artifacts/psf/psf" ;;
    test) run_tests ;;
    run) run_main "$@" ;;
    bench) run_bench "$@" ;;
    soak) build_all; "$artifacts/psf/psf" soak --json "$artifacts/soak.json" "$@" ;;
    clean) rm -rf "$artifacts"; find src tests perf -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} + ;;
    -h|--help|help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown verb '$verb': use build, test, run, bench, soak or clean" ;;
esac
