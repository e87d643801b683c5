#!/bin/sh
# fetch-chartjs.sh [VERSION]: copies Chart.js's UMD build and its licence from the npm
# registry into console/web/vendor/chart.js-VERSION/. Run by hand to update; the copied
# files are committed because shokaid embeds them and builds must not need the network.
# After an update: change the <script> path in console/web/index.html, the version in
# vendor/README.md, and delete the old folder.
set -eu

VERSION=${1:-4.5.1}
here=$(cd "$(dirname "$0")" && pwd)
dest="$here/chart.js-$VERSION"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# npm pack fetches the published tarball only (no install scripts run).
(cd "$tmp" && npm pack --silent "chart.js@$VERSION" >/dev/null)
tar -xzf "$tmp/chart.js-$VERSION.tgz" -C "$tmp"

mkdir -p "$dest"
cp "$tmp/package/dist/chart.umd.js" "$dest/chart.umd.js"
cp "$tmp/package/LICENSE.md" "$dest/LICENSE.md"
# Source maps are left out on purpose: the CSP and the embedded size do not want them,
# and the UMD build's trailing sourceMappingURL comment would make browsers ask for one.
sed -i '/^\/\/# sourceMappingURL=/d' "$dest/chart.umd.js"
echo "fetch-chartjs: chart.js $VERSION in $dest"
sha256sum "$dest/chart.umd.js"
