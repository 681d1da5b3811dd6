#!/bin/sh
# GREEN: implements the item so its test passes.
cat >/dev/null
mkdir -p impl
echo ok > "impl/$APIWRIGHT_ITEM_SLUG"
printf '{"implementation": "impl/%s"}\n' "$APIWRIGHT_ITEM_SLUG"
