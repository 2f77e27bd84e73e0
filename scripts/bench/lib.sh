# Shared by scripts/bench*.sh (sourced): wall-clock timing of a command, and the median of a column of numbers.

# The median of the numbers on stdin, one per line.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Milliseconds one run of "$@" takes (its output and failure ignored).
time_of() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || true
  end=$(date +%s%N)
  echo $(( (end - start) / 1000000 ))
}
