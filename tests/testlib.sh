# testlib.sh: what the shell tests share, sourced after they read their arguments: a scratch
# directory (the working directory from here on, removed on exit) and one-line results.
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
cd "$w"
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }
# txt/ and data.h5: the small synthetic corpus (4,000 tokens, seed 3) the LM tests train on;
# needs $genet.
tiny_text_data() {
  "$genet" prepare synthetic-text txt tokens=4000 seed=3 > /dev/null || fail "prepare synthetic-text"
  "$genet" prepare text txt data.h5 > /dev/null || fail "prepare text"
}
