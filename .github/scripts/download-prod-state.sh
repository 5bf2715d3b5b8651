#!/usr/bin/env bash
# Downloads artifact NAME from the newest successful run of main.yml on main
# (trying the five newest, since artifacts expire) into DIR. Writes
# found=true|false and run_id to $GITHUB_OUTPUT and says what it found in the
# log and the job summary. Needs GH_TOKEN (permission actions: read).
#   .github/scripts/download-prod-state.sh prod-state artifacts/prod-state
set -euo pipefail
name=$1
dir=$2
summary=${GITHUB_STEP_SUMMARY:-/dev/null}
output=${GITHUB_OUTPUT:-/dev/null}

run_ids=$(gh api --method GET \
    "repos/${GITHUB_REPOSITORY}/actions/workflows/main.yml/runs" \
    -f branch=main -f status=success -f per_page=5 \
    --jq '.workflow_runs[].id') || run_ids=""

for run_id in $run_ids; do
    rm -rf "$dir"
    if gh run download "$run_id" --repo "$GITHUB_REPOSITORY" --name "$name" --dir "$dir" \
        && [ -f "$dir/manifest.json" ]; then
        url="${GITHUB_SERVER_URL}/${GITHUB_REPOSITORY}/actions/runs/${run_id}"
        echo "Production state '$name' from main.yml run $run_id ($url)"
        echo "Deferring to production state \`$name\` from [main.yml run $run_id]($url)." >> "$summary"
        { echo "found=true"; echo "run_id=$run_id"; } >> "$output"
        exit 0
    fi
done

rm -rf "$dir"
echo "::warning::No '$name' artifact on a successful main.yml run of main: building everything"
echo "No production state \`$name\` (no successful main.yml run on main with that artifact): building everything, nothing deferred." >> "$summary"
{ echo "found=false"; echo "run_id="; } >> "$output"
