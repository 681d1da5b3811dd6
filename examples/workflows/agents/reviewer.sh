#!/bin/sh
# REFACTOR: records a review; leaves behaviour unchanged.
cat >/dev/null
mkdir -p reviews
echo "reviewed $APIWRIGHT_ITEM" > "reviews/$APIWRIGHT_ITEM_SLUG"
printf '{"review": "approved", "item": "%s"}\n' "$APIWRIGHT_ITEM"
