#!/usr/bin/env bash
# The crates can be published: `cargo publish --dry-run` packages every
# publishable member (unpublished path dependencies resolve through cargo's
# local overlay, so the order does not matter) and each .crate must carry
# its README and both licence files. --no-verify: the test suite builds the
# same code already. --allow-dirty: this checks the manifests, not git.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
rm -f "$target_dir"/package/*.crate
cargo publish --dry-run --workspace --no-verify --allow-dirty --quiet
# The same archives where the checks below can read them.
cargo package --workspace --exclude vrrp-benches --no-verify --allow-dirty --quiet
fail=0
# Every member that may be published (no `publish = false`), so that a new
# crate is held to the same rules.
publishable=$(cargo metadata --format-version 1 --no-deps | python3 -c '
import json, sys
m = json.load(sys.stdin)
for p in m["packages"]:
    if p["id"] in m["workspace_members"] and p.get("publish") != []:
        print(p["name"])')
[ -n "$publishable" ] || { echo "check-package: no publishable crate found"; exit 1; }
for pkg in $publishable; do
    crate=$(ls "$target_dir"/package/"$pkg"-*.crate 2>/dev/null | head -n1 || true)
    if [ -z "$crate" ]; then
        echo "check-package: no .crate for $pkg"
        fail=1
        continue
    fi
    files=$(tar tzf "$crate")
    for f in README.md LICENSE-MIT LICENSE-APACHE; do
        if ! grep -qx "${pkg}-[^/]*/$f" <<<"$files"; then
            echo "check-package: $f missing from $(basename "$crate")"
            fail=1
        fi
    done
    manifest=$(tar xzf "$crate" --wildcards -O '*/Cargo.toml')
    for key in description license readme keywords categories; do
        grep -q "^$key = " <<<"$manifest" || { echo "check-package: $pkg has no $key"; fail=1; }
    done
    if grep -q 'example\.invalid\|^repository = ' <<<"$manifest"; then
        echo "check-package: $pkg carries a placeholder repository URL"
        fail=1
    fi
done
[ $fail -eq 0 ] && echo "check-package: ok"
exit $fail
