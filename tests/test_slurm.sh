#!/usr/bin/env bash
# genet under a real Slurm (scripts/slurm/, docs/CLUSTER.md): munged, slurmctld and slurmd are
# started here as root with a one-node slurm.conf, a fresh munge key and socket, ports, spool
# and state all in the scratch directory (no system Slurm or munge is touched), then:
#   train_cpu.sbatch, 2 ranks under srun --mpi=pmix, a small language model: log and checkpoint
#     (the file's own layout: one Slurm task holding the node's cores, 2 ranks started on it);
#   the same job warned mid-run (scancel --signal=USR1 --batch, what --signal=B:USR1@N sends),
#     submitted with --ntasks-per-node=2 (the ranks as Slurm tasks):
#     it checkpoints, requeues itself, resumes from that checkpoint (SLURM_RESTART_COUNT=1) and
#     ends bit-identical to the uninterrupted run;
#   stylize_array.sbatch over a 3-entry list: three images; the task warned mid-run is requeued
#     alone and resumes, the other two run once;
#   a rank killed with SIGKILL (train.sbatch, the GPU file, with --gpus-per-node=0): the job
#     fails within seconds, not requeued; submitted again it resumes from the newest checkpoint;
#     cancelled with scancel, it checkpoints and is not requeued (a requeue would undo scancel).
# The daemons are stopped by their PIDs, and anything the jobs left is found by an environment
# variable every process started here carries. Without Slurm and munge installed, or as
# non-root, it prints one SKIP line and exits 77 (ctest: skipped).
# Usage: test_slurm.sh GENET H5CMP SOURCE_DIR
set -euo pipefail
genet=$1
h5cmp=$2
src=$3
skip() { echo "SKIP: slurm: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root to run slurmd (CI runs as root)"
for c in munged slurmctld slurmd sbatch srun scontrol scancel squeue sinfo; do
  command -v "$c" > /dev/null ||
    skip "$c not installed (scripts/install-deps.sh installs munge slurmctld slurmd slurm-client)"
done
. "$(dirname "$0")/testlib.sh"
chmod 755 "$w"  # munged wants its socket's directory open to all
t_start=$SECONDS

# ---- the cluster
# The daemons and the jobs (through sbatch) carry GENET_SLURM_TEST in their environment, this
# shell does not: what they leave behind (slurmstepd detaches from slurmd) is found by it and
# ended by PID.
tag="GENET_SLURM_TEST=$w"
# shellcheck disable=SC2046  # word splitting wanted: one name each
unset $(compgen -e | grep -E '^(SLURM_|SBATCH_|SRUN_|SALLOC_)') 2> /dev/null || true
leftovers() {
  local p
  for p in /proc/[0-9]*; do
    grep -qzx "$tag" "$p/environ" 2> /dev/null && echo "${p#/proc/}"
  done
  return 0
}
pids=()
cleanup() {
  local st=$? p
  trap - EXIT
  if [ -n "${SLURM_CONF:-}" ] && scontrol ping > /dev/null 2>&1; then
    squeue -h -o %A | xargs -r scancel 2> /dev/null || true
    for _ in $(seq 1 50); do [ -z "$(squeue -h -o %A 2> /dev/null)" ] && break; sleep 0.2; done
  fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2> /dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2> /dev/null || true
  done
  for _ in 1 2 3; do
    for p in $(leftovers); do kill -KILL "$p" 2> /dev/null || true; done
    sleep 0.2
  done
  cd / && rm -rf "$w"
  exit "$st"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP  # through cleanup: a Ctrl-C or a timeout leaves nothing running
dump() {  # the daemons' logs, for a failure
  for f in munged.log slurmctld.log slurmd.log; do echo "---- $f"; tail -n 30 "$w/$f" 2> /dev/null || true; done
}
die() { dump; fail "$*"; }
# Slurm holds a requeued job back for about two minutes (its begin time); the test starts it at
# once. Not within the second of its requeue: slurmd revokes the old run's credential with a
# time in whole seconds and refuses a new one from that same second ("Job credential revoked",
# the job then FAILED), so wait for the clock to pass into the next second first.
release_requeued() {
  local s0
  s0=$(date +%s)
  while [ "$(date +%s)" -le "$((s0 + 1))" ]; do sleep 0.1; done
  scontrol update jobid="$1" starttime=now
}

# Two free ports from 16817 on (two copies of this test may run at once, e.g. two checkouts).
port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
port=16817
while ! port_free $port || ! port_free $((port + 1)); do
  port=$((port + 2))
  [ $port -lt 16999 ] || skip "no two free ports in 16817..16999"
done
node=$(hostname -s)
mkdir -p state spool tmp
dd if=/dev/urandom of=munge.key bs=1024 count=1 2> /dev/null
chmod 400 munge.key
cat > slurm.conf << EOF
ClusterName=genettest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$w/munge.sock
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$w/state
SlurmdSpoolDir=$w/spool
TmpFS=$w/tmp
SlurmctldPidFile=$w/slurmctld.pid
SlurmdPidFile=$w/slurmd.pid
SlurmctldLogFile=$w/slurmctld.log
SlurmdLogFile=$w/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
MinJobAge=3600
# Four CPUs whatever the machine has (the tests' processes are small), so that two 2-rank jobs
# or the array's tasks fit.
SlurmdParameters=config_overrides
NodeName=$node NodeAddr=127.0.0.1 CPUs=4 RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$w/slurm.conf
env "$tag" munged -F --socket="$w/munge.sock" --key-file="$w/munge.key" --pid-file="$w/munged.pid" \
  --log-file="$w/munged.log" --seed-file="$w/munged.seed" > munged.out 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -S munge.sock ] && break; sleep 0.1; done
[ -S munge.sock ] || { cat munged.out; die "munged did not start"; }
env "$tag" slurmctld -D -c -f "$SLURM_CONF" > slurmctld.out 2>&1 &
pids+=($!)
env "$tag" slurmd -D -N "$node" -f "$SLURM_CONF" > slurmd.out 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do
  [ "$(sinfo -h -o %T 2> /dev/null)" = idle ] && break
  sleep 0.1
done
[ "$(sinfo -h -o %T 2> /dev/null)" = idle ] || { cat slurmctld.out slurmd.out; die "the node did not come up"; }
srun --mpi=list 2>&1 | grep -q pmix || die "Slurm has no pmix plugin (slurm-wlm-basic-plugins)"
pass "munged, slurmctld and slurmd up on ports $port, $((port + 1)) ($((SECONDS - t_start)) s)"

# ---- helpers
jobfield() { scontrol show job -o "$1" 2> /dev/null | grep -oE "(^| )$2=[^ ]*" | head -n 1 | cut -d= -f2; }
wait_state() {  # JOB SECONDS STATE...: until the job is in one of the states
  local j=$1 t=$2 s x
  shift 2
  local end=$((SECONDS + t))
  while :; do
    s=$(jobfield "$j" JobState)
    for x in "$@"; do [ "$s" = "$x" ] && return 0; done
    [ $SECONDS -lt $end ] || { scontrol show job "$j"; die "job $j is ${s:-gone} after $t s (waited for $*)"; }
    sleep 0.1
  done
}
wait_grep() {  # PATTERN FILE SECONDS
  local end=$((SECONDS + $3))
  until grep -q -- "$1" "$2" 2> /dev/null; do
    [ $SECONDS -lt $end ] || { cat "$2" 2> /dev/null; die "no '$1' in $2 after $3 s"; }
    sleep 0.05
  done
}
submit() { env "$tag" sbatch --parsable --time=10 --cpus-per-task=1 "$@"; }
export GENET_HOME=$src GENET=$genet
sb=$src/scripts/slurm
# The GPU file runs the CPU file's lines (train_cpu.sbatch is train.sbatch less the GPUs).
diff <(sed '1,/^GENET_HOME=/d' "$sb/train.sbatch") <(sed '1,/^GENET_HOME=/d' "$sb/train_cpu.sbatch") ||
  fail "train.sbatch and train_cpu.sbatch differ below their headers"

tiny_text_data
cat > lm.job << 'JOB'
task = lm
data = data.h5
emsize = 8
nhid = 8
nlayers = 1
batch = 10
bptt = 10
epochs = 20
log_interval = 10
threads = 1
JOB
# 4000 tokens / 10 columns = 400 rows: 40 batches an epoch, 800 steps in all.
final=ckpt_0000000800.h5
state="params state train/epoch train/batch train/best_val_loss train/log_loss_sum optim/lr"

# ---- a plain run: train_cpu.sbatch, 2 ranks
t=$SECONDS
a=$(submit -J plain --cpus-per-task=2 "$sb/train_cpu.sbatch" lm.job)
wait_state "$a" 120 COMPLETED FAILED CANCELLED
alog=runs/plain/logs/$a.0.log
[ "$(jobfield "$a" JobState) $(jobfield "$a" ExitCode) $(jobfield "$a" Restarts)" = "COMPLETED 0:0 0" ] ||
  { cat "slurm-plain-$a.out" "$alog"; die "plain job: $(jobfield "$a" JobState), exit $(jobfield "$a" ExitCode)"; }
grep -q '^# genet train lm.job: task lm, 2 ranks' "$alog" || { cat "$alog"; fail "plain job: not 2 ranks"; }
grep -q "^genet-slurm: job $a: 1 node(s) ($node) x 2 rank(s) x 1 core(s)$" "$alog" ||
  { head -n 3 "$alog"; fail "plain job: not the file's layout (1 node x 2 ranks x 1 core)"; }
grep -q "^# slurm: SLURM_JOB_ID=$a (not requeued)" "$alog" || fail "plain job: no SLURM_JOB_ID line"
grep -q 'End of training' "$alog" || fail "plain job: did not finish"
[ -f "runs/plain/checkpoints/$final" ] || fail "plain job: no $final"
grep -q 'finished$' "slurm-plain-$a.out" || fail "plain job: the batch script did not say finished"
pass "train_cpu.sbatch: 2 ranks under srun --mpi=pmix (its layout: 1 node x 2 ranks x 1 core), log runs/plain/logs/$a.0.log, $final ($((SECONDS - t)) s)"

# ---- warned mid-run: checkpoint, requeue, resume, bit-identical end
t=$SECONDS
b=$(submit -J warned --ntasks-per-node=2 "$sb/train_cpu.sbatch" lm.job)
b0=runs/warned/logs/$b.0.log
wait_grep '^| epoch' "$b0" 60
scancel --signal=USR1 --batch "$b"
wait_state "$b" 60 PENDING COMPLETED FAILED
[ "$(jobfield "$b" JobState)" = PENDING ] || { cat "$b0"; fail "warned job not requeued: $(jobfield "$b" JobState)"; }
[ "$(jobfield "$b" Restarts)" = 1 ] || fail "warned job: Restarts=$(jobfield "$b" Restarts)"
step=$(sed -n 's/^| stopped at step \([0-9]*\) (signal).*/\1/p' "$b0")
[ -n "$step" ] || { cat "$b0"; fail "warned job: no stop by signal"; }
ck=$(printf 'ckpt_%010d.h5' "$step")
[ -f "runs/warned/checkpoints/$ck" ] || fail "warned job: no checkpoint at its stop (step $step)"
grep -q 'stopped with its checkpoint: requeueing (restart 1 of at most 3)' "$b0" || { cat "$b0"; fail "warned job: no requeue message"; }
release_requeued "$b"
wait_state "$b" 120 COMPLETED FAILED CANCELLED
b1=runs/warned/logs/$b.1.log
[ "$(jobfield "$b" JobState) $(jobfield "$b" ExitCode)" = "COMPLETED 0:0" ] || { cat "$b1"; die "requeued job: $(jobfield "$b" JobState)"; }
grep -q "^# slurm: SLURM_JOB_ID=$b SLURM_RESTART_COUNT=1$" "$b1" || { cat "$b1"; fail "requeued job: no SLURM_RESTART_COUNT=1"; }
grep -q "^| resumed from $w/runs/warned/checkpoints/$ck: step $step, written by 2 ranks" "$b1" ||
  { cat "$b1"; fail "requeued job: did not resume from $ck"; }
# shellcheck disable=SC2086
"$h5cmp" "runs/plain/checkpoints/$final" "runs/warned/checkpoints/$final" 0 $state > b.cmp ||
  { cat b.cmp; fail "warned + requeued run differs from the plain run"; }
pass "USR1 at step $step: checkpoint, requeued, resumed with SLURM_RESTART_COUNT=1, $final bit-identical to the plain run ($((SECONDS - t)) s)"

# ---- the cap on requeues: with GENET_MAX_REQUEUES=0 a warned job checkpoints and stops there
t=$SECONDS
g=$(GENET_MAX_REQUEUES=0 submit -J capped --ntasks-per-node=2 "$sb/train_cpu.sbatch" lm.job)
g0=runs/capped/logs/$g.0.log
wait_grep '^| epoch' "$g0" 60
scancel --signal=USR1 --batch "$g"
wait_state "$g" 60 FAILED COMPLETED PENDING
sleep 2  # a requeue would show by now
[ "$(jobfield "$g" JobState) $(jobfield "$g" ExitCode) $(jobfield "$g" Restarts)" = "FAILED 75:0 0" ] ||
  { cat "$g0"; die "capped job: $(jobfield "$g" JobState), exit $(jobfield "$g" ExitCode), Restarts=$(jobfield "$g" Restarts)"; }
grep -q 'after 0 restarts (GENET_MAX_REQUEUES=0): not requeued' "$g0" || { cat "$g0"; fail "capped job: no message"; }
pass "GENET_MAX_REQUEUES=0: warned, checkpointed, exit 75, not requeued ($((SECONDS - t)) s)"

# ---- a style array of three; task 2 warned mid-run is requeued alone
t=$SECONDS
fx=$src/tests/fixtures
cat > style.job << JOB
task = style
vgg = $fx/vgg_tiny_weights.h5
size = 32
max_evals = 300
show_every = 10
max_iter = 5
history = 8
checkpoint_every = 2
threads = 1
JOB
cat > list.txt << EOF
# content  style  output
$fx/image_rgb.jpg   $fx/image_palette.png  results/one.png

$fx/image_rgb.jpg   $fx/image_prog444.jpg  results/two.png
$fx/image_grey.jpg  $fx/image_palette.png,$fx/image_prog444.jpg  results/three.png
EOF
c=$(submit -J style --array=1-3 --gpus-per-task=0 "$sb/stylize_array.sbatch" list.txt style.job)
wait_state "${c}_2" 60 RUNNING
c2=$(jobfield "${c}_2" JobId)
wait_grep '^Iteration' "runs/style/2/logs/$c2.0.log" 60
scancel --signal=USR1 --batch "${c}_2"
wait_state "${c}_2" 60 PENDING COMPLETED FAILED
[ "$(jobfield "${c}_2" JobState)" = PENDING ] || { cat "runs/style/2/logs/$c2.0.log"; fail "array task 2 not requeued"; }
release_requeued "${c}_2"
for i in 1 2 3; do wait_state "${c}_$i" 120 COMPLETED FAILED CANCELLED; done
names=(one two three)
for i in 1 2 3; do
  id=$(jobfield "${c}_$i" JobId)
  want=0
  [ $i = 2 ] && want=1
  [ "$(jobfield "${c}_$i" JobState) $(jobfield "${c}_$i" Restarts)" = "COMPLETED $want" ] ||
    { cat runs/style/$i/logs/*; die "array task $i: $(jobfield "${c}_$i" JobState), Restarts=$(jobfield "${c}_$i" Restarts) (want $want)"; }
  log=runs/style/$i/logs/$id.$want.log
  grep -q '^| done: ' "$log" || { cat "$log"; fail "array task $i did not finish"; }
  [ "$(od -An -tx1 -N8 "results/${names[i - 1]}.png" | tr -d ' ')" = 89504e470d0a1a0a ] ||
    fail "array task $i: no PNG"
done
compgen -G 'runs/style/[13]/logs/*.1.log' > /dev/null && fail "tasks 1 or 3 were started twice"
grep -q "^| resumed from $w/runs/style/2/checkpoints/ckpt_" "runs/style/2/logs/$c2.1.log" ||
  { cat "runs/style/2/logs/$c2.1.log"; fail "array task 2 did not resume"; }
grep -q "SLURM_RESTART_COUNT=1" "runs/style/2/logs/$c2.1.log" || fail "array task 2: no SLURM_RESTART_COUNT=1"
pass "stylize_array.sbatch: 3 images; task 2 warned, requeued alone and resumed; tasks 1 and 3 ran once ($((SECONDS - t)) s)"

# ---- a rank killed: the job fails at once and is not requeued; again, it resumes
t=$SECONDS
d=$(submit -J killed --ntasks-per-node=2 --gpus-per-node=0 "$sb/train.sbatch" lm.job epochs=1000000 checkpoint_every=20)
d0=runs/killed/logs/$d.0.log
wait_grep '^| checkpoint .*ckpt_0000000040.h5' "$d0" 60
victim=
for p in $(leftovers); do
  tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null | grep -qx "SLURM_JOB_ID=$d" &&
    tr '\0' '\n' < "/proc/$p/environ" | grep -qx 'SLURM_PROCID=1' &&
    [ "$(cat "/proc/$p/comm" 2> /dev/null)" = genet ] && victim=$p
done
[ -n "$victim" ] || die "no rank 1 of job $d found"
k0=$SECONDS
kill -KILL "$victim"
wait_state "$d" 60 FAILED COMPLETED CANCELLED PENDING
took=$((SECONDS - k0))
sleep 2  # a requeue would show by now
[ "$(jobfield "$d" JobState) $(jobfield "$d" Restarts)" = "FAILED 0" ] ||
  { cat "$d0"; die "killed rank: job $(jobfield "$d" JobState), Restarts=$(jobfield "$d" Restarts)"; }
[ $took -le 30 ] || fail "killed rank: the job took $took s to fail"
grep -q 'failed (status 137): not requeued' "$d0" || { cat "$d0"; fail "killed rank: no 'failed (status 137)'"; }
newest=$(cd runs/killed/checkpoints && ls ckpt_*.h5 | tail -n 1)
pass "rank 1 killed with SIGKILL: job FAILED in ${took} s (status 137), not requeued"

e=$(submit -J killed --ntasks-per-node=2 --gpus-per-node=0 "$sb/train.sbatch" lm.job epochs=1000000 checkpoint_every=20)
e0=runs/killed/logs/$e.0.log
wait_grep "^| resumed from $w/runs/killed/checkpoints/$newest" "$e0" 60
wait_grep '^| epoch' "$e0" 60
scancel "$e"
wait_state "$e" 60 CANCELLED FAILED COMPLETED PENDING
wait_grep 'so this script does not requeue it' "$e0" 60
sleep 2
[ "$(jobfield "$e" JobState) $(jobfield "$e" Restarts)" = "CANCELLED 0" ] ||
  { cat "$e0"; die "cancelled job: $(jobfield "$e" JobState), Restarts=$(jobfield "$e" Restarts)"; }
grep -q '^| stopped at step [0-9]* (signal)' "$e0" || { cat "$e0"; fail "cancelled job: no checkpoint at the stop"; }
pass "submitted again: resumed from $newest; scancel: checkpoint written, not requeued ($((SECONDS - t)) s)"

# Stopped here rather than on exit, to check that nothing is left.
trap - EXIT
(cleanup) || true
left=$(leftovers)
[ -z "$left" ] || fail "processes left running: $left"
echo "all passed ($((SECONDS - t_start)) s; daemons stopped, nothing left running)"
