#!/bin/sh
# embed-dir.sh DIR [FILE=NAME]...: prints a C file with every file under DIR (sorted,
# hidden files left out), and each extra FILE under the name NAME, as the table
# console_assets[] (console_assets.h): name, content type, bytes, length. The Makefile
# builds console/web/ (and the API's OpenAPI file) into shokaid with it, so the console
# needs no files beside the binary. Plain od and sed: no xxd needed.
set -eu
dir=$1
shift
pairs=$(cd "$dir" && find . -type f ! -name '.*' | sed 's#^\./##' | LC_ALL=C sort |
    while read -r f; do printf '%s=%s\n' "$dir/$f" "$f"; done)
for extra in "$@"; do
	pairs=$(printf '%s\n%s' "$pairs" "$extra")
done
type_of() {
	case $1 in
	*.html) echo "text/html; charset=utf-8" ;;
	*.css) echo "text/css; charset=utf-8" ;;
	*.js|*.mjs) echo "text/javascript; charset=utf-8" ;;
	*.json) echo "application/json" ;;
	*.yaml) echo "application/yaml; charset=utf-8" ;;
	*.svg) echo "image/svg+xml" ;;
	*.png) echo "image/png" ;;
	*.ico) echo "image/x-icon" ;;
	*.woff2) echo "font/woff2" ;;
	*) echo "text/plain; charset=utf-8" ;;
	esac
}
printf '/* Generated from %s by scripts/embed-dir.sh: do not edit. */\n' "$dir"
printf '#include <stddef.h>\n\n#include "../../daemon/console/console_assets.h"\n\n'
i=0
echo "$pairs" | while IFS='=' read -r file name; do
	[ -n "$file" ] || continue
	printf 'static const unsigned char asset_%d[] = {\n' "$i"
	od -An -v -tx1 "$file" | sed -e 's/[[:space:]]*$//' -e '/^$/d' \
	    -e 's/[[:space:]]*\([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/\t/'
	printf '\t0x00\n};\n'
	i=$((i + 1))
done
printf '\nconst struct console_asset console_assets[] = {\n'
i=0
echo "$pairs" | while IFS='=' read -r file name; do
	[ -n "$file" ] || continue
	printf '\t{ "%s", "%s", asset_%d, %s },\n' "$name" "$(type_of "$name")" "$i" \
	    "$(wc -c <"$file" | tr -d ' ')"
	i=$((i + 1))
done
printf '\t{ NULL, NULL, NULL, 0 }\n};\n'
