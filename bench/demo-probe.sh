#!/usr/bin/env bash
# bench/demo-probe.sh URL (a running `fed serve`, full demo): asks the issue's example questions and 45 random 1-2-3-digit ones; prints pass counts.
url=$1; pass=0; n=0
qs=("What is 37 + 48?|85" "Compute 91 - 26|65" "37+48=|85" "What is 5 + 3?|8" "What is 370 + 481?|851")
RANDOM=7
for i in $(seq 1 45); do
  da=$((RANDOM%3+1)); db=$((RANDOM%3+1)); a=$((RANDOM%(10**da))); b=$((RANDOM%(10**db)))
  case $((RANDOM%3)) in 0) op="+"; r=$((a+b));; 1) op="-"; r=$((a-b));; 2) op="+"; r=$((a+b));; esac
  case $((RANDOM%3)) in 0) q="What is $a $op $b?";; 1) q="Compute $a $op $b";; 2) q="$a$op$b=";; esac
  qs+=("$q|$r")
done
for e in "${qs[@]}"; do
  q=${e%|*}; r=${e##*|}; n=$((n+1))
  out=$(curl -s -m 60 "$url/v1/chat/completions" -H 'content-type: application/json' -d "{\"model\":\"federation\",\"messages\":[{\"role\":\"user\",\"content\":\"$q\"}]}")
  ans=$(echo "$out" | python3 -c 'import sys,json; d=json.load(sys.stdin); print(d["choices"][0]["message"]["content"] if "choices" in d else "ERR "+d.get("error",{}).get("code","?"))' 2>/dev/null)
  last=$(echo "$ans" | grep -oE -- '-?[0-9]+' | tail -1)
  ok=no; [[ "$last" == "$r" ]] && { ok=yes; pass=$((pass+1)); }
  printf '%-22s want %-5s %-4s %s\n' "$q" "$r" "$ok" "$(echo $ans | head -c 60)"
done
echo "probe: $pass / $n"
