#!/bin/sh
# RED: writes a test for the item that can only pass once impl/<item> says "ok".
cat >/dev/null
mkdir -p tests
cat > "tests/$APIWRIGHT_ITEM_SLUG.sh" <<TEST
#!/bin/sh
# Test for: $APIWRIGHT_ITEM
grep -qx ok "impl/$APIWRIGHT_ITEM_SLUG"
TEST
printf '{"test": "tests/%s.sh", "item": "%s"}\n' "$APIWRIGHT_ITEM_SLUG" "$APIWRIGHT_ITEM"
