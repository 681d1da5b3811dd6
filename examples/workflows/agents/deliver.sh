#!/bin/sh
# A minimal script agent: ignores the prompt on stdin and produces every deliverable the
# step declares (APIWRIGHT_WRITES holds `name=key` lines) as a small JSON document.
cat >/dev/null
first=1
printf '{"deliverables": {'
printf '%s\n' "$APIWRIGHT_WRITES" | while IFS='=' read -r name key; do
  [ -n "$name" ] || continue
  [ "$first" = 1 ] || printf ', '
  first=0
  printf '"%s": {"by": "%s", "phase": "%s", "iteration": %s, "key": "%s"}' \
    "$name" "$APIWRIGHT_AGENT" "$APIWRIGHT_PHASE" "$APIWRIGHT_ITERATION" "$key"
done
printf '}, "summary": "%s finished %s", "decisions": ["%s followed the plan"]}\n' \
  "$APIWRIGHT_AGENT" "$APIWRIGHT_STEP" "$APIWRIGHT_AGENT"
