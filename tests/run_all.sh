#!/bin/sh
# SPDX-License-Identifier: MIT
# Run each `make` step given as an argument, show its output, and add up the
# "N passed, N failed" lines the runners print. A step that prints no such
# line counts as one test, passed or failed by its exit status. Ends with the
# total line and a non-zero status if anything failed.
mkdir -p build/logs
tp=0; tf=0; bad=""
for step in "$@"; do
  echo "=== $step"
  start=$(date +%s)
  make --no-print-directory "$step" > "build/logs/$step.log" 2>&1
  rc=$?
  cat "build/logs/$step.log"
  line=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "build/logs/$step.log" | tail -n 1)
  if [ -n "$line" ]; then
    # Sum every runner line of the step (a step may run several binaries).
    p=$(grep -oE '^([A-Za-z]+: )?[0-9]+ passed' "build/logs/$step.log" | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
    f=$(grep -oE '[0-9]+ failed' "build/logs/$step.log" | grep -oE '^[0-9]+' | awk '{s+=$1} END {print s+0}')
  else
    p=0; f=0
    if [ $rc -eq 0 ]; then p=1; else f=1; fi
  fi
  if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  [ "$f" -ne 0 ] && bad="$bad $step"
  tp=$((tp + p)); tf=$((tf + f))
  echo "=== $step: $p passed, $f failed ($(( $(date +%s) - start )) s)"
done
[ -n "$bad" ] && echo "failed steps:$bad"
echo "$tp passed, $tf failed"
[ "$tf" -eq 0 ]
