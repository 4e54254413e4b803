# Sourced by the shell tests of tests/tools: starts and stops one d365-sim process.
# The caller sets `sim` (the d365-sim binary), `work` (its scratch folder) and a `fail`
# function, and kills "$sim_pid" in its EXIT trap.
#   start_sim CONFIG.json   starts d365-sim on a free loopback port with that config and
#                           sets sim_pid and base (http://127.0.0.1:PORT) once it listens
#   stop_sim                stops it and waits for it
sim_pid=""
base=""

start_sim() {
  "$sim" --listen 127.0.0.1:0 --config "$1" >"$work/sim.out" 2>"$work/sim.err" &
  sim_pid=$!
  base=""
  for _ in $(seq 1 100); do
    base=$(head -1 "$work/sim.out" 2>/dev/null | sed -n 's/^listening on //p')
    [[ -n "$base" ]] && return 0
    kill -0 "$sim_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$work/sim.err"
  fail "d365-sim did not start"
}

stop_sim() {
  kill "$sim_pid"
  wait "$sim_pid" 2>/dev/null || true
  sim_pid=""
}
