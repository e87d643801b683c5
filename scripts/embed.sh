#!/bin/sh
# embed.sh NAME FILE: prints a C file that holds FILE's bytes as
#   const unsigned char NAME[]   (NUL-terminated)
#   const size_t NAME_len        (without the NUL)
# The Makefile builds daemon/config/default_wording.yaml into the binaries with it.
# Plain od and sed: no xxd needed.
set -eu
name=$1
file=$2
len=$(wc -c <"$file" | tr -d ' ')
printf '/* Generated from %s by scripts/embed.sh: do not edit. */\n' "$file"
printf '#include <stddef.h>\n\n'
printf 'extern const unsigned char %s[];\nextern const size_t %s_len;\n\n' "$name" "$name"
printf 'const unsigned char %s[] = {\n' "$name"
od -An -v -tx1 "$file" | sed -e 's/[[:space:]]*$//' -e '/^$/d' \
    -e 's/[[:space:]]*\([0-9a-f][0-9a-f]\)/0x\1,/g' -e 's/^/\t/'
printf '\t0x00\n};\nconst size_t %s_len = %s;\n' "$name" "$len"
