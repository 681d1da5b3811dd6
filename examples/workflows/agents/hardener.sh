#!/bin/sh
# Remediation target: each visit of the hardening phase applies one more fix.
cat >/dev/null
echo "fix applied (attempt $APIWRIGHT_ATTEMPT)" >> hardening.log
printf '{"fixes": %s}\n' "$(wc -l < hardening.log)"
