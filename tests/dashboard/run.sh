#!/usr/bin/env bash
# The dashboard in a real browser: starts acsemu on tests/dashboard/state.yaml, makes a few
# requests (one allowed, one denied, one pair of instance credentials), takes headless-Chromium
# screenshots of the three views into ${ACSEMU_SHOTS:-target/dashboard-shots}/, and checks that
# each PNG is a real page (dimensions, size, many colours), not a blank or an error page.
# Installs Debian's chromium when it is missing (needs root and the package registry).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
shots="${ACSEMU_SHOTS:-$root/target/dashboard-shots}"
mkdir -p "$shots"

if ! command -v chromium >/dev/null 2>&1; then
    echo "== installing chromium (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

bin="${ACSEMU_BIN:-}"
if [ -z "$bin" ]; then
    cargo build --quiet --bin acsemu
    bin="$root/target/debug/acsemu"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

"$bin" serve --in-memory --listen 127.0.0.1:0 --init tests/dashboard/state.yaml \
    >"$work/out" 2>"$work/err" &
server_pid=$!
for _ in $(seq 1 100); do
    [ -s "$work/out" ] && break
    sleep 0.05
done
endpoint="$(head -n1 "$work/out" | sed -n 's/^acsemu ready endpoint=\([^ ]*\) .*/\1/p')"
if [ -z "$endpoint" ]; then
    echo "acsemu did not start:"; cat "$work/err"; exit 1
fi

# Signed RPC calls (V1, HMAC-SHA1) with the standard library only.
python3 - "$endpoint" <<'PY'
import base64, hashlib, hmac, sys, urllib.parse, urllib.request, urllib.error, uuid, datetime
endpoint = sys.argv[1]
def call(ak, sk, action, version, **params):
    p = {"Action": action, "Version": version, "Format": "JSON", "AccessKeyId": ak,
         "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": str(uuid.uuid4()),
         "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), **params}
    enc = lambda s: urllib.parse.quote(str(s), safe="-_.~")
    canon = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(p.items()))
    sts = "GET&%2F&" + enc(canon)
    p["Signature"] = base64.b64encode(hmac.new((sk + "&").encode(), sts.encode(), hashlib.sha1).digest()).decode()
    try:
        with urllib.request.urlopen(endpoint + "/?" + urllib.parse.urlencode(p), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
user = ("LTAI5tAcsemuSeedUser0001", "acsemuSeedUserSecret0000000001")
assert call(*user, "DescribeInstances", "2014-05-26", RegionId="cn-hangzhou") == 200
assert call(*user, "ListUsers", "2015-05-01") == 403
with urllib.request.urlopen(endpoint + "/_acsemu/credentials/i-bp1acsemuseed00000001", timeout=10) as r:
    assert r.status == 200
PY

start=$(date +%s)
for view in overview policies requests; do
    path="/_acsemu/"
    [ "$view" = overview ] || path="/_acsemu/$view"
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --hide-scrollbars \
        --user-data-dir="$(mktemp -d -p "$work")" --window-size=1280,1600 \
        --screenshot="$shots/$view.png" "$endpoint$path" >"$work/chromium-$view.log" 2>&1 || {
        echo "chromium failed on $path:"; tail -20 "$work/chromium-$view.log"; exit 1; }
done

python3 - "$shots" <<'PY'
import struct, sys, zlib, pathlib
failed = False
for view in ("overview", "policies", "requests"):
    png = pathlib.Path(sys.argv[1]) / f"{view}.png"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{png}: not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    # The pixel bytes (filter bytes included): a blank page has a handful of values.
    idat, pos = b"", 8
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4]); kind = data[pos + 4:pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    raw = zlib.decompress(idat)
    distinct = len(set(raw))
    ok = (width, height) == (1280, 1600) and len(data) > 40_000 and distinct > 100
    print(f"{view}: {width}x{height} {len(data)} bytes, {distinct} distinct byte values: {'ok' if ok else 'FAILED'}")
    failed |= not ok
sys.exit(1 if failed else 0)
PY
echo "dashboard screenshots in $shots ($(( $(date +%s) - start ))s for the browser)"
