#!/bin/sh
# Remakes the example rich menu images main.png (2500x1686, 2x2) and info.png (2500x843, 1x2).
# Needs ImageMagick 6 and the Noto Sans CJK JP font (Debian: apt-get install imagemagick fonts-noto-cjk).
# Only for remaking these images; nothing in the build or tests depends on these tools.
set -eu
cd "$(dirname "$0")"

FONT=${FONT:-Noto-Sans-CJK-JP-Bold}   # see `convert -list font`
ACCENT='#F08A24'   # warm orange: the "refer a friend" button
ICON='#2F5A8A'     # slate blue icons
TEXT='#2B2B2B'
WHITE='#FFFFFF'
NAV='#EEF1F5'      # light grey: buttons that switch tabs
LINE='#D5DAE1'     # dividers
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# cell OUT BG FG LABEL DRAW...: one 1250x843 button, icon drawn around (625,290), label below it.
cell() {
	out=$1 bg=$2 fg=$3 label=$4
	shift 4
	convert -size 1250x843 "xc:$bg" "$@" \
		-font "$FONT" -pointsize 112 -fill "$fg" -gravity center -annotate +0+170 "$label" \
		"$tmp/$out"
}

cell refer.png "$ACCENT" "$WHITE" '友だちに紹介' -fill "$WHITE" \
	-draw 'circle 575,240 575,295' \
	-draw 'ellipse 575,395 95,85 180,360' \
	-draw 'rectangle 700,277 790,303' -draw 'rectangle 732,245 758,335'
cell status.png "$WHITE" "$TEXT" '紹介状況' -fill "$ICON" \
	-draw 'roundrectangle 515,300 565,385 8,8' \
	-draw 'roundrectangle 600,245 650,385 8,8' \
	-draw 'roundrectangle 685,190 735,385 8,8' \
	-draw 'rectangle 495,385 755,397'
cell contact.png "$WHITE" "$TEXT" '担当者に連絡' -fill "$ICON" \
	-draw 'roundrectangle 500,195 750,355 40,40' \
	-draw 'polygon 555,350 610,350 540,410' \
	-fill "$WHITE" -draw 'circle 565,275 565,293' -draw 'circle 625,275 625,293' -draw 'circle 685,275 685,293'
cell more.png "$NAV" "$TEXT" 'その他 ▶' -fill "$ICON" \
	-draw 'circle 535,290 535,322' -draw 'circle 625,290 625,322' -draw 'circle 715,290 715,322'
cell faq.png "$WHITE" "$TEXT" 'よくある質問' -fill "$ICON" \
	-draw 'circle 625,290 625,395' \
	-font "$FONT" -pointsize 180 -fill "$WHITE" -gravity center -annotate +0-131 '?' -gravity northwest
cell back.png "$NAV" "$TEXT" '◀ メニューに戻る' -fill "$ICON" \
	-draw 'roundrectangle 530,195 615,280 14,14' -draw 'roundrectangle 635,195 720,280 14,14' \
	-draw 'roundrectangle 530,300 615,385 14,14' -draw 'roundrectangle 635,300 720,385 14,14'

# Flat colours only, so a small palette keeps the files far under LINE's 1 MB limit.
finish() { convert "$@" +dither -colors 32 -strip -define png:exclude-chunks=date,time "PNG8:$out"; }

out=main.png
finish \( "$tmp/refer.png" "$tmp/status.png" +append \) \( "$tmp/contact.png" "$tmp/more.png" +append \) -append \
	-fill "$LINE" -draw 'rectangle 1248,0 1251,1685' -draw 'rectangle 0,841 2499,844'
out=info.png
finish "$tmp/faq.png" "$tmp/back.png" +append \
	-fill "$LINE" -draw 'rectangle 1248,0 1251,842'

identify main.png info.png
