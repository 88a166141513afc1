#!/usr/bin/env python3
"""The trainer's side of `ssr selfplay --sync file`: online RL, one policy update per step.

ssr runs step N, writes the step's rollouts to <run>/sync/step-N.jsonl and then
<run>/sync/step-N.ready.json, and waits. This script reads them, "trains" (here: it reports
GRPO group statistics and bumps the version; put your update there), and answers with
<run>/sync/policy-N.json = {"version": ..., "model": ...}, written whole (temporary file, then
rename). Only then does ssr sample step N+1, with that version on every episode. Restartable:
it resumes at the first step it has not answered. Standard library only.

    ssr selfplay --repo ./repo --model http://127.0.0.1:8000/v1 --out runs/r1 --sync file &
    python3 examples/trainers/sync_trainer.py runs/r1

Prints one JSON line per step: step, rows, mean reward per role, the version it sampled with,
and the version it published. Stops after the run's last step (run.json's `steps`).
"""
import argparse
import json
import os
import pathlib
import statistics
import sys
import time


def wait_for(path, timeout):
    start = time.monotonic()
    while not path.exists():
        if timeout and time.monotonic() - start > timeout:
            sys.exit(f"no {path} after {timeout} s: is ssr selfplay --sync file running?")
        time.sleep(0.2)


def train_on(rows):
    """Stand-in for a policy update: what a GRPO step would look at, per role."""
    stats = {}
    for role in ("solver", "injector"):
        rewards = [r["reward"] for r in rows if r["role"] == role and r["reward"] is not None]
        stats[role] = round(statistics.mean(rewards), 3) if rewards else None
    groups = {r["group_id"] for r in rows}
    tokens = sum(len(ids or []) for r in rows for ids in (r["completion_token_ids"] or []))
    return {"mean_reward": stats, "groups": len(groups), "completion_tokens": tokens}


def publish(sync, step, version, model):
    policy = {"version": version}
    if model:
        policy["model"] = model
    tmp = sync / f".policy-{step}.json.tmp"
    tmp.write_text(json.dumps(policy))
    os.replace(tmp, sync / f"policy-{step}.json")  # whole, never half


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run", help="the ssr selfplay --out folder")
    p.add_argument("--model", help="a model name for ssr to ask the server for from now on")
    p.add_argument("--timeout", type=float, default=0, help="seconds to wait for a step (0: forever)")
    args = p.parse_args()
    run = pathlib.Path(args.run)
    wait_for(run / "run.json", args.timeout)
    steps = json.loads((run / "run.json").read_text())["config"]["steps"]
    sync = run / "sync"
    step = 0
    while (sync / f"policy-{step}.json").exists():  # restarted: skip steps already answered
        step += 1
    while step < steps:
        ready = sync / f"step-{step}.ready.json"
        wait_for(ready, args.timeout)
        info = json.loads(ready.read_text())
        with open(sync / info["export"]) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        # On-policy: keep what the current version sampled (an async trainer keeps a window).
        rows = [r for r in rows if r["policy_version"] == info["policy_version"]]
        report = train_on(rows)
        version = f"v{step + 1}"
        if step + 1 < steps:  # ssr does not wait after its last step
            publish(sync, step, version, args.model)
        print(json.dumps({"step": step, "rows": len(rows), "sampled_with": info["policy_version"],
                          "published": version if step + 1 < steps else None, **report}), flush=True)
        step += 1


if __name__ == "__main__":
    main()
