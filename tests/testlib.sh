# testlib.sh: what the shell tests share, sourced after they read their arguments: a scratch
# directory (the working directory from here on, removed on exit) and one-line results.
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
cd "$w"
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }
