# shellcheck shell=bash
# scripts/slurm/lib.sh: what genet's sbatch files share. They source it (it is not run on its
# own): it names the run's directory, starts the job step in the background so that the batch
# shell can take Slurm's warning signal and pass it on, and decides whether the job requeues.
# docs/CLUSTER.md tells the whole story.
#
# Settings, from the environment at submission (sbatch hands the environment on):
#   GENET_HOME          the genet checkout (the sbatch files' default: where sbatch ran)
#   GENET               the genet binary (default: $GENET_HOME/build/genet)
#   GENET_RUNS          where run directories go (default: $SLURM_SUBMIT_DIR/runs)
#   GENET_MAX_REQUEUES  how often a job may requeue itself (default 3): SLURM_RESTART_COUNT
#                       counts the restarts, Slurm's own requeues (node failure) included, so a
#                       job that keeps stopping comes to an end

GENET=${GENET:-$GENET_HOME/build/genet}
GENET_RUNS=${GENET_RUNS:-$SLURM_SUBMIT_DIR/runs}
GENET_MAX_REQUEUES=${GENET_MAX_REQUEUES:-3}
GENET_LOG=         # the run's log of this start of the job, once genet_run_dir has named it
GENET_PID=         # the job step (srun or mpirun) while it runs
GENET_STATUS=      # its exit status
GENET_SIGNALLED=   # a signal came (and was passed on) since the last look

# One line to the job's output file and, once there is one, to the run's log.
genet_msg() {
  local line="genet-slurm: job ${SLURM_JOB_ID:-?}: $*"
  echo "$line" >&2
  if [ -n "$GENET_LOG" ]; then echo "$line" >> "$GENET_LOG"; fi
}

# USR1 (sbatch --signal=B:USR1@N: the time limit is near) or TERM (scancel, the time limit
# reached, preemption) to the batch shell: pass USR1 on to the job step, whose ranks finish
# the step they are in, write the checkpoint and exit 75. USR1 and not TERM because mpirun
# forwards USR1 to its ranks but answers TERM by killing them (status 1); srun forwards both.
# Bash runs a trap only between commands, which is why the step runs in the background and
# the shell waits for it with `wait`, which a trapped signal interrupts.
genet_on_signal() {
  GENET_SIGNALLED=1
  if [ -n "$GENET_PID" ]; then
    genet_msg "SIG$1 received: passing SIGUSR1 on to the job step"
    kill -USR1 "$GENET_PID" 2> /dev/null || true
  fi
}
trap 'genet_on_signal USR1' USR1
trap 'genet_on_signal TERM' TERM

# Each rank's OpenMP threads: the cores Slurm gave each task. srun has not taken
# --cpus-per-task from the job since Slurm 22.05; SRUN_CPUS_PER_TASK hands it over.
GENET_OMP_GIVEN=${OMP_NUM_THREADS:-}
if [ -n "${SLURM_CPUS_PER_TASK:-}" ]; then
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$SLURM_CPUS_PER_TASK}
  export SRUN_CPUS_PER_TASK=$SLURM_CPUS_PER_TASK
fi

# genet_layout: sets GENET_LAYOUT, srun's options that place the ranks, GENET_RANKS_PER_NODE
# (as resolved) and OMP_NUM_THREADS.
# The train files ask Slurm for nodes and for what each node holds (--cpus-per-task cores,
# --gpus-per-node GPUs: one Slurm task per node), not for a task count; srun splits each node
# into GENET_RANKS_PER_NODE ranks (default: its GPUs, else 1), the cores shared among them.
# That is what lets --nodes be a range MIN-MAX: Slurm gives a range as many free nodes as it
# can, up to MAX, and a job requeued after a node failure starts again on as few as MIN, with
# fewer ranks. --ntasks-per-node fixes the task count at MIN x its value, and Slurm 22.05 then
# gives a range MIN nodes, even with MAX idle (measured; --spread-job does not change it).
# Given on the command line, --ntasks-per-node (or --ntasks) is taken as it always was (that
# many ranks per node, --cpus-per-task cores each, the nodes a fixed count): srun's own layout.
genet_layout() {
  GENET_LAYOUT=()
  local nodes=${SLURM_JOB_NUM_NODES:-1} rpn cpn cpr gpn
  if [ -n "${SLURM_NTASKS_PER_NODE:-}${SLURM_NTASKS:-}" ]; then
    # A job shrunk by hand to fewer nodes (scontrol update jobid=J NumNodes=1 NumTasks=1:
    # docs/CLUSTER.md) still finds the old task count in SLURM_NTASKS, and srun would crowd
    # that many ranks onto the nodes left: then the ranks are --ntasks-per-node per node.
    if [ -n "${SLURM_NTASKS:-}" ] && [ "$SLURM_NTASKS" -gt $((nodes * SLURM_NTASKS_PER_NODE)) ] 2> /dev/null; then
      export SLURM_NTASKS=$((nodes * SLURM_NTASKS_PER_NODE))
      export SLURM_NPROCS=$SLURM_NTASKS
    fi
    GENET_RANKS_PER_NODE=$SLURM_NTASKS_PER_NODE
    return 0
  fi
  gpn=${SLURM_GPUS_PER_NODE:-0}
  gpn=${gpn##*:}  # --gpus-per-node=a100:4
  rpn=${GENET_RANKS_PER_NODE:-}
  if [ -z "$rpn" ]; then
    if [ "$gpn" -gt 0 ] 2> /dev/null; then rpn=$gpn; else rpn=1; fi
  fi
  # The cores of the smallest node: SLURM_JOB_CPUS_PER_NODE reads like 16(x2),8.
  cpn=$(echo "${SLURM_JOB_CPUS_PER_NODE:-1}" | tr ',' '\n' | sed 's/(x[0-9]*)//' | sort -n | head -n 1)
  if ! [ "$rpn" -ge 1 ] 2> /dev/null || ! [ "$cpn" -ge "$rpn" ] 2> /dev/null; then
    genet_msg "GENET_RANKS_PER_NODE=$rpn ranks cannot share $cpn cores per node (--cpus-per-task is the cores of a node here)"
    exit 2
  fi
  cpr=$((cpn / rpn))
  GENET_RANKS_PER_NODE=$rpn
  GENET_LAYOUT=(--nodes="$nodes" --ntasks="$((nodes * rpn))" --ntasks-per-node="$rpn" --cpus-per-task="$cpr")
  if [ "$gpn" -gt 0 ] 2> /dev/null; then GENET_LAYOUT+=(--gpus-per-task=1); fi
  export SRUN_CPUS_PER_TASK=$cpr
  if [ -z "${GENET_OMP_GIVEN:-}" ]; then export OMP_NUM_THREADS=$cpr; fi
  genet_msg "$nodes node(s) (${SLURM_JOB_NODELIST:-?}) x $rpn rank(s) x $cpr core(s)"
}

# genet_run_name FILE: the run's name: the job name given with sbatch -J, else FILE's name
# without its extension (sbatch's default job name is the batch file's own name). The name
# does not change when the job is requeued, so neither does the run's directory.
genet_run_name() {
  local base=${1##*/}
  case ${SLURM_JOB_NAME:-} in
    '' | *.sbatch) echo "${base%.*}" ;;
    *) echo "$SLURM_JOB_NAME" ;;
  esac
}

# genet_run_dir NAME [key=value...]: makes $GENET_RUNS/NAME/ with checkpoints/, out/ and logs/
# and sets GENET_DIR, GENET_LOG (logs/<job id>.<restart>.log, one per start of the job) and
# GENET_DIRS, genet's checkpoint_dir= and out_dir= for the run's directory, each left out when
# the key=value arguments set it themselves (genet refuses a key given twice).
genet_run_dir() {
  local name=$1 kv
  shift
  GENET_DIR=$GENET_RUNS/$name
  if ! mkdir -p "$GENET_DIR/checkpoints" "$GENET_DIR/out" "$GENET_DIR/logs"; then
    genet_msg "cannot make the run directory $GENET_DIR"
    exit 1
  fi
  GENET_LOG=$GENET_DIR/logs/${SLURM_JOB_ID}.${SLURM_RESTART_COUNT:-0}.log
  local ck=1 out=1
  for kv in "$@"; do
    case $kv in
      checkpoint_dir=*) ck= ;;
      out_dir=*) out= ;;
    esac
  done
  GENET_DIRS=()
  if [ -n "$ck" ]; then GENET_DIRS+=(checkpoint_dir="$GENET_DIR/checkpoints"); fi
  if [ -n "$out" ]; then GENET_DIRS+=(out_dir="$GENET_DIR/out"); fi
  if [ ! -x "$GENET" ]; then
    genet_msg "no genet binary at $GENET: set GENET_HOME (the checkout) or GENET (the binary)"
    exit 1
  fi
}

# genet_step COMMAND...: runs the job step (srun or mpirun starting genet) in the background,
# its output appended to GENET_LOG, and waits for it through the signals passed on; sets
# GENET_STATUS to its exit status (srun's: the highest of its tasks', 128 + N for a task killed
# by signal N). A warning that came before the step started leaves it unstarted: status 75.
genet_step() {
  genet_msg "$(date '+%F %T') on $(hostname -s), restart ${SLURM_RESTART_COUNT:-0}: $*"
  if [ -n "$GENET_SIGNALLED" ]; then
    genet_msg "signalled before the job step started: not starting it"
    GENET_STATUS=75
    return
  fi
  "$@" >> "$GENET_LOG" 2>&1 &
  GENET_PID=$!
  # `wait` returns 128 + N when signal N's trap ran; bash keeps the step's status, so waiting
  # again returns it once the step has ended.
  GENET_SIGNALLED=1
  while [ -n "$GENET_SIGNALLED" ]; do
    GENET_SIGNALLED=
    wait "$GENET_PID"
    GENET_STATUS=$?
  done
  GENET_PID=
  genet_msg "$(date '+%F %T') the job step ended with status $GENET_STATUS"
}

# genet_finish: ends the batch script by genet's exit status, never by the launcher's view of
# the signal (mpirun given TERM returns 1 while its ranks exit 75):
#   0   finished (or stopped at max_steps, or nothing to do): exit 0;
#   75  stopped and resumable, its checkpoint written: requeued with `scontrol requeue` when
#       the job is still RUNNING in Slurm's eyes (the stop came from the --signal warning or
#       `scancel --signal`, not from scancel, the time limit or preemption, which end the job,
#       and which a requeue would undo) and has restarted fewer than GENET_MAX_REQUEUES times;
#       otherwise exit 75;
#   else a real error (1, 2, or 128 + N for a rank killed by signal N): exit with it, never
#       requeued; submitting again resumes from the newest good checkpoint.
genet_finish() {
  local st=$GENET_STATUS restarts=${SLURM_RESTART_COUNT:-0} state
  if [ "$st" = 0 ]; then
    genet_msg "finished"
    exit 0
  fi
  if [ "$st" != 75 ]; then
    genet_msg "failed (status $st): not requeued; log: $GENET_LOG"
    exit "$st"
  fi
  if [ "$restarts" -ge "$GENET_MAX_REQUEUES" ]; then
    genet_msg "stopped with its checkpoint after $restarts restarts (GENET_MAX_REQUEUES=$GENET_MAX_REQUEUES): not requeued; submit it again to go on"
    exit 75
  fi
  if ! command -v scontrol > /dev/null; then
    genet_msg "stopped with its checkpoint, but there is no scontrol on $(hostname -s) to requeue the job: submit it again to go on"
    exit 75
  fi
  state=$(scontrol show job -o "$SLURM_JOB_ID" 2> /dev/null | grep -o 'JobState=[A-Z_]*')
  state=${state#JobState=}
  if [ "$state" != RUNNING ]; then
    genet_msg "stopped with its checkpoint; the job is ${state:-of unknown state} (cancelled, timed out or preempted), so this script does not requeue it"
    exit 75
  fi
  genet_msg "stopped with its checkpoint: requeueing (restart $((restarts + 1)) of at most $GENET_MAX_REQUEUES)"
  if scontrol requeue "$SLURM_JOB_ID"; then
    exit 0
  fi
  genet_msg "scontrol requeue failed: submit the job again to go on"
  exit 75
}
