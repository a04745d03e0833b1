#!/usr/bin/env bash
# genet on several hosts, emulated on this machine by tests/cluster/ (network namespaces on a
# bridge, each with its own hostname and slurmd; one slurmctld and munged): the code paths only
# multi-node runs reach, run by Open MPI and Slurm themselves. One summary line per case:
#   mpirun --hostfile (Open MPI's rsh launch, its agent entering a host's namespaces): 2 ranks
#     on 2 hosts, TCP between them and no shared memory (Open MPI's btl verbose lines); the LM
#     ends within 1e-5 of 1 rank (test_lm_ranks.sh's bound);
#   the DCGAN with sync_bn on 2 hosts: within 5e-5 of 1 rank after 3 steps (test_dcgan_train's);
#   sbatch -N 2 --ntasks-per-node=1 scripts/slurm/train_cpu.sbatch (srun --mpi=pmix): one rank
#     per host over TCP, within 1e-5 of 1 rank;
#   a host's link cut mid-run (mpirun): both ranks end with the line naming the all-reduce
#     after collective_timeout, and mpirun ends with an error instead of hanging;
#   a host lost (link cut, all its processes killed: a power loss) under Slurm, twice: the
#     job submitted with --nodes=1-2 (train_cpu.sbatch's cores per node, one rank per node)
#     on two hosts (the others drained or down) runs on both; then rank 1's host is lost, or
#     the host running the batch script and rank 0: the node is marked down, and Slurm
#     requeues the job and starts it again on the host left, with nothing done by hand; 1 rank
#     resumes from the last checkpoint the 2 ranks wrote and finishes within 1e-5 of the
#     uninterrupted 2-host run.
# Everything is torn down by tests/cluster/down.sh on exit, pass or fail, and the test checks
# that no process and no namespace is left. Without root, namespaces, Slurm or munge it prints
# one SKIP line and exits 77 (ctest: skipped).
# Usage: test_multinode.sh GENET H5CMP SOURCE_DIR
set -euo pipefail
genet=$1
h5cmp=$2
src=$3
skip() { echo "SKIP: multinode: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, slurmd; CI runs as root)"
for c in ip tc nsenter unshare munged slurmctld slurmd sbatch scontrol mpirun; do
  command -v "$c" > /dev/null || skip "$c not installed (scripts/install-deps.sh --test)"
done
ip netns add "gcprobe$$" 2> /dev/null || skip "cannot make a network namespace here"
ip netns del "gcprobe$$"
. "$(dirname "$0")/testlib.sh"
chmod 755 "$w"  # munged wants its socket's directories open to all
t_start=$SECONDS
cl=$src/tests/cluster
C=$w/cluster
# shellcheck disable=SC2046  # word splitting wanted: one name each
unset $(compgen -e | grep -E '^(SLURM_|SBATCH_|SRUN_|SALLOC_|OMPI_MCA_)') 2> /dev/null || true
cleanup() {
  local st=$?
  trap - EXIT
  "$cl/down.sh" "$C" > down.out 2>&1 || { cat down.out; st=1; }
  # MULTINODE_KEEP=DIR: a failed run's scratch directory (logs, Slurm's and genet's) kept there.
  if [ "$st" != 0 ] && [ -n "${MULTINODE_KEEP:-}" ]; then cp -r "$w" "$MULTINODE_KEEP" && echo "kept in $MULTINODE_KEEP"; fi
  cd / && rm -rf "$w"
  exit "$st"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
line() { echo "multinode: $*"; }
dump() { for f in "$C"/slurmctld.log "$C"/slurmd-*.log; do echo "---- $f"; tail -n 15 "$f" 2> /dev/null || true; done; }
die() { dump; fail "$*"; }
worst() {  # h5cmp's output: the largest worst err
  sed -n 's/.*worst err \([0-9.e+-]*\) .*/\1/p' "$1" | sort -g | tail -n 1
}

# ---- the cluster: 3 hosts
"$cl/up.sh" "$C" 3 > up.out 2>&1 || { cat up.out; fail "cluster did not come up"; }
. "$C/cluster.env"
h1=${HOSTS[0]} h2=${HOSTS[1]}
# Slurm's commands talk to slurmctld on the cluster's network: run them from the switch.
sl() { nsenter --net="/run/netns/$SW" env GENET_CLUSTER="$C" SLURM_CONF="$SLURM_CONF" "$@"; }
line "cluster: ${HOSTS[*]} up, each its own netns, hostname and slurmd ($((SECONDS - t_start)) s)"

# ---- data, the job, the 1-rank reference
"$genet" prepare synthetic-text txt tokens=8000 seed=4 > /dev/null
"$genet" prepare text txt data.h5 > /dev/null
cat > lm.job << JOB
task = lm
data = $w/data.h5
emsize = 16
nhid = 16
nlayers = 2
dropout = 0.3
dropout_io = 0.2
batch = 20
bptt = 10
lr = 1
epochs = 2
max_steps = 8
eval_batch = 10
log_interval = 10
checkpoint_every = 20
threads = 1
JOB
final=ckpt_0000000008.h5
lmnames="params state/h state/c"
"$genet" train lm.job checkpoint_dir="$w/R1" > r1.log

# ---- mpirun --hostfile: Open MPI's own remote launch through the agent
printf '%s slots=1\n' "$h1" "$h2" > hostfile
net=10.213.0.0/24
mpirun_on() {  # HOST ARGS...: mpirun started on HOST, as a user logged in there would (60 s at most)
  local h=$1
  shift
  timeout 60 "$cl/on.sh" "$C" "$h" mpirun --allow-run-as-root --hostfile "$w/hostfile" -np 2 \
    --mca plm_rsh_agent "$cl/rsh.sh" --mca btl_tcp_if_include $net --mca oob_tcp_if_include $net "$@"
}
tcp_between() {  # LOG: rank 0 on h1 and rank 1 on h2 chose TCP for each other, nothing else
  grep -q "^\[$h1:[0-9]*\] mca: bml: Using tcp btl for send to \[\[[0-9]*,[0-9]*\],1\] on node $h2$" "$1" &&
    grep -q "^\[$h2:[0-9]*\] mca: bml: Using tcp btl for send to \[\[[0-9]*,[0-9]*\],0\] on node $h1$" "$1" &&
    ! grep -Eq 'Using (vader|sm) btl' "$1"
}
t=$SECONDS
mpirun_on "$h1" --mca btl_base_verbose 100 "$genet" train "$w/lm.job" checkpoint_dir="$w/M2" > m2.log 2>&1 ||
  { tail -n 30 m2.log; fail "mpirun --hostfile: failed"; }
grep -q '^# genet train .*task lm, 2 ranks' m2.log || { tail m2.log; fail "mpirun --hostfile: not 2 ranks"; }
tcp_between m2.log || { grep 'bml\|vader' m2.log; fail "mpirun --hostfile: ranks not on $h1 and $h2 over TCP"; }
# shellcheck disable=SC2086
"$h5cmp" "R1/$final" "M2/$final" 1e-5 $lmnames > m2.cmp || { cat m2.cmp; fail "mpirun --hostfile: LM differs from 1 rank"; }
line "mpirun --hostfile: rank 0 on $h1, rank 1 on $h2, TCP both ways, no shared memory; LM after 8 steps: worst err $(worst m2.cmp) vs 1 rank (bound 1e-5) ($((SECONDS - t)) s)"

# ---- the DCGAN with sync_bn across the two hosts against 1 rank
t=$SECONDS
"$genet" prepare synthetic-images imgs.h5 n=160 size=32 seed=2 > /dev/null
cat > gan.job << JOB
task = dcgan
data = $w/imgs.h5
nz = 8
ngf = 4
ndf = 4
batch = 8
epochs = 2
max_steps = 3
log_interval = 5
sample_every = 10
checkpoint_every = 10
threads = 1
sync_bn = true
JOB
gfinal=ckpt_0000000003.h5
"$genet" train gan.job checkpoint_dir="$w/G1" out_dir="$w/outG1" > g1.log
mpirun_on "$h1" "$genet" train "$w/gan.job" checkpoint_dir="$w/G2" out_dir="$w/outG2" > g2.log 2>&1 ||
  { tail -n 30 g2.log; fail "DCGAN on 2 hosts failed"; }
grep -q '^# genet train .*task dcgan, 2 ranks' g2.log || fail "DCGAN: not 2 ranks"
"$h5cmp" "G1/$gfinal" "G2/$gfinal" 5e-5 params buffers > g2.cmp || { cat g2.cmp; fail "DCGAN sync_bn: 2 hosts differ from 1 rank"; }
line "DCGAN sync_bn on $h1 + $h2: worst err $(worst g2.cmp) vs 1 rank after 3 steps (bound 5e-5) ($((SECONDS - t)) s)"

# ---- sbatch -N 2 --ntasks-per-node=1 train_cpu.sbatch: srun --mpi=pmix across the hosts
t=$SECONDS
export GENET_HOME=$src GENET=$genet
# In the environment at submission (sbatch hands it on): srun --export would split the values
# at their commas. btl_base_verbose only for the check below.
export OMPI_MCA_btl_tcp_if_include=$net OMPI_MCA_oob_tcp_if_include=$net
jobfield() { sl scontrol show job -o "$1" 2> /dev/null | grep -oE "(^| )$2=[^ ]*" | head -n 1 | cut -d= -f2; }
wait_state() {  # JOB SECONDS STATE...
  local j=$1 t=$2 s x
  shift 2
  local end=$((SECONDS + t))
  while :; do
    s=$(jobfield "$j" JobState)
    for x in "$@"; do [ "$s" = "$x" ] && return 0; done
    [ $SECONDS -lt $end ] || { sl scontrol show job "$j"; die "job $j is ${s:-gone} after $t s (waited for $*)"; }
    sleep 0.2
  done
}
submit() { (cd "$w" && sl sbatch --parsable --time=10 --cpus-per-task=1 "$@"); }
a=$(OMPI_MCA_btl_base_verbose=100 submit -J two -N 2 --ntasks-per-node=1 "$src/scripts/slurm/train_cpu.sbatch" lm.job)
wait_state "$a" 90 COMPLETED FAILED CANCELLED
alog=runs/two/logs/$a.0.log
[ "$(jobfield "$a" JobState) $(jobfield "$a" ExitCode)" = "COMPLETED 0:0" ] ||
  { tail -n 30 "$alog"; die "sbatch -N 2: $(jobfield "$a" JobState) $(jobfield "$a" ExitCode)"; }
grep -q '^# genet train .*task lm, 2 ranks' "$alog" || fail "sbatch -N 2: not 2 ranks"
[ "$(jobfield "$a" NodeList)" = "${PREFIX}-h[1-2]" ] || fail "sbatch -N 2: nodes $(jobfield "$a" NodeList)"
tcp_between "$alog" || { grep 'bml\|vader' "$alog"; fail "sbatch -N 2: ranks not on $h1 and $h2 over TCP"; }
# shellcheck disable=SC2086
"$h5cmp" "R1/$final" "runs/two/checkpoints/$final" 1e-5 $lmnames > a.cmp || { cat a.cmp; fail "sbatch -N 2: LM differs from 1 rank"; }
line "sbatch -N 2 --ntasks-per-node=1 train_cpu.sbatch: srun ranks on $h1 and $h2 over TCP; worst err $(worst a.cmp) vs 1 rank (bound 1e-5) ($((SECONDS - t)) s)"

# ---- a host's link cut mid-run, under mpirun
# Open MPI's mpirun waits for the daemon on the unreachable host until TCP gives up on their
# connection: Linux's net.ipv4.tcp_retries2 (15 by default: about 15 minutes). Set to 5 (about
# 13 s, per network namespace) on the hosts as docs/CLUSTER.md tells users to on theirs.
t=$SECONDS
for h in "${HOSTS[@]}"; do nsenter --net="/run/netns/$h" sysctl -qw net.ipv4.tcp_retries2=5; done
wait_file() {  # FILE SECONDS
  local end=$((SECONDS + $2))
  until [ -e "$1" ]; do [ $SECONDS -lt $end ] || fail "no $1 after $2 s"; sleep 0.05; done
}
ncomm() {  # HOST NAME: how many processes called NAME run on HOST
  local p n=0
  for p in $(cluster_ns_pids "$1"); do [ "$(cat "/proc/$p/comm" 2> /dev/null)" = "$2" ] && n=$((n + 1)); done
  echo $n
}
. "$cl/cluster.sh"
mpirun_on "$h1" --output-filename "$w/cut.out" "$genet" train "$w/lm.job" checkpoint_dir="$w/K" \
  epochs=1000000 max_steps=0 checkpoint_every=40 collective_timeout=3 > k.log 2>&1 &
kpid=$!
wait_file K/ckpt_0000000040.h5 30
"$cl/link.sh" "$C" "$h2" cut
t0=$SECONDS
gone1='' gone2=''
while kill -0 $kpid 2> /dev/null && [ $((SECONDS - t0)) -lt 50 ]; do
  [ -n "$gone1" ] || [ "$(ncomm "$h1" genet)" != 0 ] || gone1=$((SECONDS - t0))
  [ -n "$gone2" ] || [ "$(ncomm "$h2" genet)" != 0 ] || gone2=$((SECONDS - t0))
  sleep 0.2
done
kst=0
wait $kpid || kst=$?
took=$((SECONDS - t0))
[ "$kst" != 0 ] || fail "link cut: mpirun exited 0"
[ "$kst" != 124 ] || { tail -n 20 k.log; fail "link cut: mpirun still running after 60 s (hung)"; }
msg="the other ranks did not all arrive within collective_timeout = 3 s"
# Each rank names the collective it waited in (the gradients' all-reduce, or another).
k0=$(grep -m1 -o "^genet: rank 0: [a-z -]*: $msg" k.log) || { tail -n 20 k.log; fail "link cut: no timeout line from rank 0"; }
k1=$(grep -m1 -o "^genet: rank 1: [a-z -]*: $msg" cut.out/1/rank.1/stderr 2> /dev/null) ||
  { cat cut.out/1/rank.1/stderr; fail "link cut: no timeout line from rank 1 (on $h2)"; }
if [ -z "$gone1" ] || [ -z "$gone2" ] || [ "$gone1" -gt 6 ] || [ "$gone2" -gt 6 ]; then
  fail "link cut: ranks ended ${gone1:-never} s ($h1) and ${gone2:-never} s ($h2) after the cut (timeout 3 s)"
fi
for _ in $(seq 1 100); do [ "$(ncomm "$h2" orted)" = 0 ] && break; sleep 0.2; done
[ "$(ncomm "$h2" orted)" = 0 ] || fail "link cut: Open MPI's daemon on $h2 still there 20 s after mpirun ended"
"$cl/link.sh" "$C" "$h2" restore
for _ in $(seq 1 50); do
  nsenter --net="/run/netns/$h1" timeout 1 bash -c 'exec 3<> /dev/tcp/10.213.0.2/6818' 2> /dev/null &&
    nsenter --net="/run/netns/$h2" timeout 1 bash -c 'exec 3<> /dev/tcp/10.213.0.1/6818' 2> /dev/null && break
  sleep 0.2
done
# Slurm marked the host down while it was cut off (SlurmdTimeout): it returns when it answers.
for _ in $(seq 1 150); do [ "$(sl sinfo -h -n "$h2" -o %T)" = idle ] && break; sleep 0.2; done
[ "$(sl sinfo -h -n "$h2" -o %T)" = idle ] || die "$h2 not idle again after the link came back"
line "link cut: '${k0#genet: }' (${gone1} s after the cut), '${k1#genet: }' on $h2 (${gone2} s; its --output-filename file), mpirun exited $kst after ${took} s (tcp_retries2 = 5), no daemon left ($((SECONDS - t)) s)"

# ---- a host lost under Slurm: requeued by Slurm, started again on the host left with 1 rank
t=$SECONDS
# The uninterrupted 2-host run (mpirun: the same sums as srun's 2 ranks).
lostjob=(max_steps=40 checkpoint_every=10 collective_timeout=60)
mpirun_on "$h1" "$genet" train "$w/lm.job" "${lostjob[@]}" checkpoint_dir="$w/U" > u.log 2>&1 ||
  { grep -v '^[|#]' u.log | head -n 40; fail "node lost: the uninterrupted run failed"; }
# Slow links (1 Mbit/s: about a third of a second a step) so that the host can be lost mid-run.
for h in "${HOSTS[@]}"; do "$cl/link.sh" "$C" "$h" shape 1mbit; done
# lost_case NAME WHICH: the job (-J NAME) submitted --nodes=1-2, one rank per node
# (train_cpu.sbatch asks for each node's cores, here 1, not for --ntasks-per-node), gets the
# two hosts that are up; once it has written its step-30 checkpoint, one of them is lost: WHICH
# is "batch" (the host running the batch script and rank 0) or "other" (rank 1's). Nothing is
# done by hand after that: Slurm marks the host down, requeues the job and starts it again on
# the host left, where 1 rank resumes from the last checkpoint the 2 ranks wrote and finishes.
# up.sh's cred_expire=10 holds a requeued job back 10 s, not 120; Slurm's scheduler passes
# (backfill every 30 s) add up to about 30 s more.
lost_case() {
  local name=$1 which=$2 b ck last step down requeued restarted node blog bh lost left t0 what
  local -a on
  t=$SECONDS
  b=$(GENET_RANKS_PER_NODE=1 submit -J "$name" --nodes=1-2 "$src/scripts/slurm/train_cpu.sbatch" lm.job "${lostjob[@]}")
  ck=runs/$name/checkpoints
  wait_file "$ck/ckpt_0000000030.h5" 60
  mapfile -t on < <(sl scontrol show hostnames "$(jobfield "$b" NodeList)")
  [ ${#on[@]} = 2 ] || fail "node lost: the job runs on ${on[*]}, not on 2 hosts"
  grep -q '^# genet train .*task lm, 2 ranks,' "runs/$name/logs/$b.0.log" ||
    { head -n 3 "runs/$name/logs/$b.0.log"; fail "node lost: not 2 ranks before the loss"; }
  bh=$(jobfield "$b" BatchHost)
  if [ "$which" = batch ]; then
    lost=$bh what="the batch script's host"
  else
    lost=${on[0]} what="rank 1's host, not the batch script's"
    [ "$lost" != "$bh" ] || lost=${on[1]}
  fi
  left=${on[0]}
  [ "$left" != "$lost" ] || left=${on[1]}
  # A power loss: the link goes dead and everything on the host stops at once.
  "$cl/link.sh" "$C" "$lost" cut
  cluster_kill_host "$lost"
  t0=$SECONDS
  last=$(cd "$ck" && ls ckpt_*.h5 | tail -n 1)
  [ "$last" != "$final" ] || fail "node lost: the job had finished already"
  step=$((10#$(echo "$last" | sed 's/^ckpt_\([0-9]*\)\.h5$/\1/')))
  # slurmctld marks the host down after SlurmdTimeout (6 s here), cancels the job and requeues it.
  wait_state "$b" 90 PENDING
  [ "$(jobfield "$b" Restarts)" = 1 ] || die "node lost: Restarts=$(jobfield "$b" Restarts)"
  down=$(sl sinfo -h -n "$lost" -o %T)
  case $down in down*) ;; *) die "node lost: $lost is '$down', not down" ;; esac
  requeued=$((SECONDS - t0))
  wait_state "$b" 90 RUNNING COMPLETED FAILED CANCELLED
  restarted=$((SECONDS - t0))
  wait_state "$b" 120 COMPLETED FAILED CANCELLED
  blog=runs/$name/logs/$b.1.log
  [ "$(jobfield "$b" JobState) $(jobfield "$b" ExitCode)" = "COMPLETED 0:0" ] ||
    { tail -n 30 "$blog"; die "node lost: the requeued job $(jobfield "$b" JobState) $(jobfield "$b" ExitCode)"; }
  node=$(jobfield "$b" NodeList)
  [ "$node" = "$left" ] || fail "node lost: restarted on $node, not on $left alone"
  grep -q '^# genet train .*task lm, 1 rank,' "$blog" || { head -n 3 "$blog"; fail "node lost: the restart is not 1 rank"; }
  grep -q "^| resumed from $w/$ck/$last: step $step, written by 2 ranks" "$blog" ||
    { grep resumed "$blog"; fail "node lost: did not resume from $last"; }
  # shellcheck disable=SC2086
  "$h5cmp" "U/ckpt_0000000040.h5" "$ck/ckpt_0000000040.h5" 1e-5 $lmnames > "$name.cmp" ||
    { cat "$name.cmp"; fail "node lost: the resumed run differs from the uninterrupted one"; }
  line "node lost ($what): job --nodes=1-2 ran on ${on[*]} (2 ranks); $lost down and the job requeued ${requeued} s after the loss; Slurm restarted it on $node alone ${restarted} s after the loss, 1 rank resumed at step $step of 40, finished, worst err $(worst "$name.cmp") vs the uninterrupted 2-host run (bound 1e-5) ($((SECONDS - t)) s)"
}
# Two hosts for each case (one drained, then the lost one down): once one is lost, one is left.
h3=${HOSTS[2]}
sl scontrol update nodename="$h3" state=drain reason="two hosts for the node-lost case"
lost_case lost1 other
# The second case on the first host and the third (the second is down).
sl scontrol update nodename="$h3" state=resume
# Resumed, it is "idle*" (not responding) until slurmctld next hears from it; a job submitted
# then takes the first host alone (a range takes the nodes that are free at the time).
for _ in $(seq 1 150); do [ "$(sl sinfo -h -n "$h3" -o %T)" = idle ] && break; sleep 0.2; done
[ "$(sl sinfo -h -n "$h3" -o %T)" = idle ] || die "$h3 not idle 30 s after its resume"
lost_case lost2 batch

# Stopped here rather than on exit, to check that nothing is left.
trap - EXIT
"$cl/down.sh" "$C" > down.out 2>&1 || { cat down.out; fail "teardown failed"; }
left=$(cluster_ns_pids "${HOSTS[@]}" "$SW"; cluster_tagged "$C")
[ -z "$left" ] || fail "processes left running: $left"
! ip netns list | grep -q "^$PREFIX-" || fail "namespaces left: $(ip netns list | grep "^$PREFIX-")"
cd / && rm -rf "$w"
echo "multinode: all passed ($((SECONDS - t_start)) s; nothing left running, no namespace left)"
