#!/usr/bin/env bash
# The main job on the embedded defaults: a country's keys, a lab's signed
# test result and an authority's entry approval as QR codes, and a border
# officer's step-by-step check of both against the China–Korea lane's rules.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="/usr/local/go/bin:$PATH"

out="${CORRIDOR_DATA:-./corridor-data}"
mkdir -p "$out"
go build -o "$out/corridor" ./cmd/corridor
c="$out/corridor"

if [ ! -d "$out/keys-kr" ]; then
	"$c" keys init --country KR --dir "$out/keys-kr"
	"$c" keys add-signer --dir "$out/keys-kr" --name lab-seoul --kind lab
fi
"$c" keys trustlist --dir "$out/keys-kr" --out "$out/kr-trustlist.json"

now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
sampled="$(date -u -d '-20 hours' +%Y-%m-%dT%H:%M:%SZ)"
until="$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)"

"$c" issue test --keys "$out/keys-kr" --signer lab-seoul \
	--family-name Kim --given-name Minjun --dob 1988-02-03 \
	--type NAAT --result negative --sampled "$sampled" \
	--centre "Seoul Central Lab" --issuer "Seoul Central Lab" \
	--png "$out/test-result.png" > "$out/test-result.txt"

"$c" issue approval --keys "$out/keys-kr" \
	--family-name Wang --given-name Wei --dob 1980-01-02 \
	--passport-country CN --passport E12345678 \
	--lane CN-KR --region KR --purpose engineering \
	--valid-from "$now" --valid-until "$until" \
	--itinerary IT-0001 --authority "Ministry of Foreign Affairs, Republic of Korea" \
	--png "$out/entry-approval.png" > "$out/entry-approval.txt"

echo "== test result, read from the QR picture $out/test-result.png"
"$c" verify --trust "$out/kr-trustlist.json" --rules policies/cn-kr.json --country KR "$out/test-result.png"
echo
echo "== entry approval"
"$c" verify --trust "$out/kr-trustlist.json" --rules policies/cn-kr.json --country KR "$out/entry-approval.txt"
echo
echo "== the lane's policy, with the simulator's estimate"
"$c" policy check --travellers 100000 policies/cn-kr.json
