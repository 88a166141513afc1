#!/usr/bin/env python3
"""Runs Harbor tasks exported by `ssr export --format harbor` the way a trainer's Harbor
integration does (TRL, SkyRL, rLLM, NeMo Gym, verifiers read the same folders), but on this
machine without Docker: a stand-in to see the reward contract work end to end.

For each task folder: build the start state as environment/Dockerfile does (copy
environment/repo, apply bug_inject.diff and test_weaken.diff, one fresh commit), let the policy
work in it (an OpenAI-compatible endpoint with a `bash` and a `submit` tool, prompted with
instruction.md; or, with --oracle, solution/solve.sh as Harbor's oracle agent does), then run
tests/test.sh and read the reward it writes (reward.txt). Standard library only.

    ssr export bugs/ --format harbor --out tasks --base-image node:20-bookworm
    python3 examples/trainers/harbor_local.py tasks --oracle                 # every reward 1
    python3 examples/trainers/harbor_local.py tasks --model-url http://127.0.0.1:8000/v1 --model M

It runs repository code and model commands unsandboxed: use it on repositories you trust. For
training, hand the task folder to your trainer's Harbor integration (it builds the Dockerfiles
in Docker, Modal, Daytona or E2B). Prints one JSON line per task: task, reward, turns.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import urllib.error
import urllib.request

APPLY = ["git", "apply", "--whitespace=nowarn"]
PLAIN = {**os.environ, "GIT_DIR": "/nonexistent"}  # patch mode, as the Dockerfile applies
TOOLS = [
    {"type": "function", "function": {
        "name": "bash", "description": "Run a shell command in the repository.",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}},
                       "required": ["command"]}}},
    {"type": "function", "function": {
        "name": "submit", "description": "Call when your change is complete.",
        "parameters": {"type": "object", "properties": {}}}},
]


def sh(args, cwd, env=None):
    subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)


def start_state(task, work):
    """environment/Dockerfile in copy mode, without Docker."""
    env = os.path.join(task, "environment")
    if not os.path.isdir(os.path.join(env, "repo")):
        sys.exit(f"{task}: not a copy-mode task (exported with --repo-path): build it with Docker")
    repo = os.path.join(work, "repo")
    shutil.copytree(os.path.join(env, "repo"), repo, symlinks=True)
    for diff in ("bug_inject.diff", "test_weaken.diff"):
        sh(APPLY + [os.path.join(env, diff)], repo, PLAIN)
    git = ["git", "-c", "user.name=ssr", "-c", "user.email=ssr@localhost"]
    sh(["git", "init", "-q", "-b", "main"], repo)
    sh(["git", "add", "-A"], repo)
    sh(git + ["commit", "-q", "--no-verify", "-m", "Initial commit"], repo)
    return repo


def agent(args, instruction, repo):
    """A minimal tool-calling loop: one bash tool, until submit or the turn limit."""
    messages = [{"role": "user", "content": instruction}]
    for turn in range(1, args.max_turns + 1):
        body = {"model": args.model, "messages": messages, "tools": TOOLS}
        request = urllib.request.Request(f"{args.model_url}/chat/completions",
                                         data=json.dumps(body).encode(),
                                         headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                message = json.loads(response.read())["choices"][0]["message"]
        except urllib.error.HTTPError as e:
            sys.exit(f"{args.model_url}: HTTP {e.code}: {e.read().decode(errors='replace')}")
        messages.append(message)
        calls = message.get("tool_calls") or []
        if not calls or calls[0]["function"]["name"] == "submit":
            return turn
        for call in calls:
            command = json.loads(call["function"]["arguments"] or "{}").get("command", "")
            r = subprocess.run(["bash", "-c", command], cwd=repo, capture_output=True,
                               text=True, timeout=300)
            messages.append({"role": "tool", "tool_call_id": call["id"],
                             "content": (r.stdout + r.stderr)[-8000:] + f"\n[exit {r.returncode}]"})
    return args.max_turns


def run_task(args, task):
    with open(os.path.join(task, "task.toml"), "rb") as f:
        config = tomllib.load(f)
    with tempfile.TemporaryDirectory() as work:
        repo = start_state(task, work)
        env = {**os.environ, "SSR_REPO": repo, "SSR_VERIFIER_LOGS": os.path.join(work, "logs")}
        if args.oracle:
            subprocess.run(["bash", os.path.join(task, "solution", "solve.sh")], env=env, check=True)
            turns = 0
        else:
            with open(os.path.join(task, "instruction.md")) as f:
                turns = agent(args, f.read(), repo)
        subprocess.run(["bash", os.path.join(task, "tests", "test.sh")], env=env,
                       capture_output=True, timeout=config["verifier"]["timeout_sec"])
        with open(os.path.join(work, "logs", "reward.txt")) as f:
            reward = float(f.read())
    return {"task": os.path.basename(task), "reward": reward, "turns": turns,
            "strategy": config["metadata"].get("ssr_strategy")}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("tasks", help="a folder of Harbor tasks, or one task folder")
    p.add_argument("--oracle", action="store_true", help="run solution/solve.sh, not a model")
    p.add_argument("--model-url", help="OpenAI-compatible base URL (…/v1)")
    p.add_argument("--model", default="policy")
    p.add_argument("--max-turns", type=int, default=32)
    args = p.parse_args()
    if not args.oracle and not args.model_url:
        p.error("give --model-url, or --oracle")
    root = os.path.abspath(args.tasks)
    tasks = [root] if os.path.exists(os.path.join(root, "task.toml")) else sorted(
        os.path.join(root, d) for d in os.listdir(root)
        if os.path.exists(os.path.join(root, d, "task.toml")))
    if not tasks:
        sys.exit(f"{args.tasks}: no Harbor task (no task.toml) there")
    for task in tasks:
        print(json.dumps(run_task(args, task)), flush=True)


if __name__ == "__main__":
    main()
